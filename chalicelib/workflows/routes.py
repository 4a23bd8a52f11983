"""Workflow routes: read the tenant's status flows, write its own (ADMIN), go back to the built-in one."""

from __future__ import annotations

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.workflows import service
from chalicelib.workflows.models import EntityType, Workflow, WorkflowBody, WorkflowList, WorkflowQuery

blueprint = protected_blueprint(__name__, tag="workflows")


@blueprint.operation("/workflows", response=WorkflowList, permission=Permission.TENANT_READ)
def list_workflows(principal: Principal) -> WorkflowList:
    """List the tenant's workflows

    One per entity type (order, appointment, service_job, sale, lead, marketplace_transaction): the status flow
    new entities start with, its stored version (null while the built-in default is not in use yet) and whether
    the tenant wrote it.
    """
    return service.list_workflows(principal)


@blueprint.operation(
    "/workflows/{entity_type}",
    query=WorkflowQuery,
    response=Workflow,
    permission=Permission.TENANT_READ,
    problems=(404,),
)
def get_workflow(entity_type: EntityType, query: WorkflowQuery, principal: Principal) -> Workflow:
    """Get a workflow

    The tenant's status flow for an entity type; `?version=` reads an older version (entities keep the version
    they started with: their `workflowVersion`).
    """
    return service.get_workflow(principal, entity_type, query.version)


@blueprint.operation(
    "/workflows/{entity_type}",
    "PUT",
    body=WorkflowBody,
    response=Workflow,
    permission=Permission.WORKFLOWS_MANAGE,
    problems=(404, 409),
)
def put_workflow(entity_type: EntityType, body: WorkflowBody, principal: Principal) -> Workflow:
    """Write the tenant's own workflow

    Stored as a new version: new entities start with it, existing ones keep theirs. Statuses are UPPER_SNAKE;
    every transition endpoint must be a status, terminal statuses are final (no transitions out, no timers),
    every other status needs a way out, and a timer that changes the status must name a declared transition.
    """
    return service.put_workflow(principal, entity_type, body)


@blueprint.operation(
    "/workflows/{entity_type}",
    "DELETE",
    response=Workflow,
    permission=Permission.WORKFLOWS_MANAGE,
    problems=(404, 409),
)
def reset_workflow(entity_type: EntityType, principal: Principal) -> Workflow:
    """Go back to the built-in workflow

    Drops the tenant's own flow for new entities: they start with the built-in flow of the business type again
    (stored as a new version). Existing entities keep theirs.
    """
    return service.reset_workflow(principal, entity_type)
