"""Platform operator routes over the job queues."""

from __future__ import annotations

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.operations import service
from chalicelib.operations.models import QueueList, RedriveRequest, RedriveResult

blueprint = protected_blueprint(__name__, tag="platform")


@blueprint.operation("/platform/queues", response=QueueList, permission=Permission.PLATFORM_QUEUES)
def list_queues(principal: Principal) -> QueueList:
    """List the job queues (platform)

    Each queue with the messages waiting, being handled and delayed, and those in its dead-letter queue (given up
    after their attempts: a provider down for long, a bug). Platform operators only.
    """
    return service.list_queues(principal)


@blueprint.operation(
    "/platform/queues/{queue}/redrive",
    "POST",
    body=RedriveRequest,
    response=RedriveResult,
    permission=Permission.PLATFORM_QUEUES,
    problems=(404,),
)
def redrive_queue(queue: str, body: RedriveRequest, principal: Principal) -> RedriveResult:
    """Redrive a dead-letter queue (platform)

    Moves up to `limit` dead messages back to their queue (FIFO ones to their message group, so each conversation
    keeps its order); a failed notification or relay message is put back to be tried again first. Audited.
    """
    return service.redrive_queue(principal, queue, body)
