"""Every key string of the table is built and parsed here, and nowhere else.

Rules: every tenant-owned key (table and GSIs) starts with ``T#<tenantId>#``, so IAM can scope a tenant's
credentials with ``dynamodb:LeadingKeys``. An entity is its own partition (``T#<t>#<KIND>#<id>``); lists go
through a GSI whose partition is a per-tenant collection (``T#<t>#<COLLECTION>``) sorted by time, so no tenant
is one hot partition. Global lookups (a phone-number id → tenant, an email → user) are ``ROUTE#`` items.
Two kinds of key are deliberately outside every tenant and are read only with the platform's own credentials:
the platform's list of tenants (a GSI entry on each tenant's item) and brute-force counters, which count
attempts before anyone is known to belong to a tenant.

The names of the key segments (kinds, collections, children, facets, unique fields, routes, platform lists) are the
enums below; stores use them and spell no segment themselves.

Access patterns (pattern → index → key shape); rows marked (planned) land with their capability. Names in
sort keys are folded (``core.text.fold``: NFKD, accents dropped, casefolded), so lists sort and prefix-search
case- and accent-insensitively. GSI3 exists for one pattern: a product sits in one category AND one brand list,
and an item has one partition per index, so the brand facet needs an index of its own (GSI2 holds categories;
GSI1 the whole catalog). Products sort ``A#`` (active) before ``I#`` (inactive), so ``?active=`` is a key
prefix rather than a filter.

==============================================  =====  ==========================================================
pattern                                         index  key
==============================================  =====  ==========================================================
get an entity by id                             table  PK=T#<t>#<KIND>#<id>            SK=META
children of an entity (items, history, log)     table  PK=T#<t>#<KIND>#<id>            SK begins_with <CHILD>#
list a collection, newest first                 GSI1   GSI1PK=T#<t>#<COLLECTION>       GSI1SK=<createdAt>#<id>
list a collection by a field (status, …)        GSI2   GSI2PK=T#<t>#<COLLECTION>#<value> GSI2SK=<createdAt>#<id>
search by name prefix (planned)                 GSI2   GSI2PK=T#<t>#<COLLECTION>#NAME   GSI2SK=<folded name>#<id>
customers by name prefix (?q=)                  GSI2   GSI2PK=T#<t>#CUSTOMERS#NAME      GSI2SK=<folded name>#<id>
categories / brands, by name                    GSI1   GSI1PK=T#<t>#CATEGORIES|BRANDS  GSI1SK=<folded name>#<id>
products, active first then by name (+ ?q=)     GSI1   GSI1PK=T#<t>#PRODUCTS            GSI1SK=<A|I>#<folded name>#<id>
products of a category (+ active, ?q=)          GSI2   GSI2PK=T#<t>#PRODUCTS#CATEGORY#<categoryId>  GSI2SK=as GSI1SK
products of a brand (+ active, ?q=)             GSI3   GSI3PK=T#<t>#PRODUCTS#BRAND#<brandId>        GSI3SK=as GSI1SK
stock of a product                              table  PK=T#<t>#PRODUCT#<id>           SK=STOCK
stock movements of a product, newest first      table  PK=T#<t>#PRODUCT#<id>           SK begins_with MOVEMENT#
stock levels, by product code                   GSI1   GSI1PK=T#<t>#STOCK              GSI1SK=<product code>
stock levels under their threshold (sparse)     GSI2   GSI2PK=T#<t>#STOCK#LOW          GSI2SK=<product code>
unique value per tenant (email, phone, code)    table  PK=T#<t>#UNIQUE#<FIELD>#<value>  SK=UNIQUE
response of an idempotent create (TTL 24 h)     table  PK=T#<t>#IDEMPOTENCY#<key hash> SK=IDEMPOTENCY
domain event awaiting the outbox (TTL 7 days)   table  PK=T#<t>#EVENT#<eventId>        SK=EVENT
global routing (phone id, member id, login)     table  PK=ROUTE#<KIND>#<value>         SK=ROUTE
Bitrix24 connect token → tenant (TTL 24 h)      table  PK=ROUTE#B24CONNECT#<token hash> SK=ROUTE
provider account on BTRIX's shared app → tenant table  PK=ROUTE#ACCOUNT#<provider>#<account id>  SK=ROUTE
incoming webhook seen once (TTL 7 days)         table  PK=INBOUND#<provider>#<shard>   SK=<provider>#<key hash>
integrations of a tenant (one per provider)     table  PK=T#<t>#INTEGRATION#<provider> SK=META
integrations of a tenant, by provider           GSI1   GSI1PK=T#<t>#INTEGRATIONS       GSI1SK=<provider>
sync log of an integration, newest first        table  PK=T#<t>#INTEGRATION#<provider> SK begins_with SYNCLOG#
local id → provider id (contact, invoice…)      table  PK=T#<t>#INTEGRATION#<provider> SK=REF#<kind>#<localId>
OAuth access token of an integration (+ lease)  table  PK=T#<t>#INTEGRATION#<provider> SK=ACCESSTOKEN
OAuth consent state used once (TTL 10 min)      table  PK=T#<t>#INTEGRATION#<provider> SK=CONSENT#<nonce>
tenants connected to a provider (platform)      GSI2   GSI2PK=PLATFORM#CONNECTED#<provider>  GSI2SK=<tenantId>
integrations queue job, done once (TTL)         table  PK=T#<t>#INTEGRATIONJOB#<key hash>  SK=META
sessions of a user (refresh-token families)     table  PK=T#<t>#USER#<id>              SK begins_with SESSION#
a refresh token, an invitation (hashed)         table  PK=ROUTE#REFRESH|INVITE#<sha256> SK=ROUTE
tenants allowing a browser origin (CORS)        table  PK=ROUTE#ORIGIN#<origin>        SK=TENANT#<t>
WhatsApp verification code of a user (TTL)     table  PK=T#<t>#USER#<id>              SK=OTP#WHATSAPP
audit trail of an entity                        table  PK=<the entity's PK>            SK begins_with AUDIT#
workflow of an entity type (current version)    table  PK=T#<t>#WORKFLOW#<entityType>  SK=META
workflow versions (immutable)                   table  PK=T#<t>#WORKFLOW#<entityType>  SK=VERSION#<n, 10 digits>
tenant's status labels of one locale            table  PK=T#<t>#WORKFLOW#<entityType>  SK=LABELS#<locale>
current workflows of a tenant                   GSI1   GSI1PK=T#<t>#WORKFLOWS         GSI1SK=<entityType>
status history of an entity, oldest first       table  PK=<the entity's PK>            SK begins_with HISTORY#
shipping quote of an order (TTL: its expiry)    table  PK=T#<t>#ORDER#<id>             SK=SHIPQUOTE#<quoteId>
the label bought for an order (one)             table  PK=T#<t>#ORDER#<id>             SK=SHIPMENT
labels still travelling (sparse), tracked       GSI1   GSI1PK=T#<t>#OPENSHIPMENTS      GSI1SK=<purchasedAt>#<orderId>
workflow runtime of an entity (task token)      table  PK=<the entity's PK>            SK=WORKFLOW#RUNTIME
reminder sent, once per timer (TTL 30 days)     table  PK=<the entity's PK>            SK=REMINDER#<token hash>
audit log of a tenant, by time / by actor       GSI1   GSI1PK=T#<t>#AUDIT  GSI2PK=T#<t>#AUDIT#<actorId>
all tenants (platform operator only)            GSI1   GSI1PK=PLATFORM#TENANTS        GSI1SK=<createdAt>#<id>
brute-force counter, per window (TTL)           table  PK=RATE#<scope>#<subject hash>  SK=<window start>
bookable resources, by name                     GSI1   GSI1PK=T#<t>#RESOURCES          GSI1SK=<folded name>#<id>
time blocks a resource is booked (no overlap)   table  PK=T#<t>#RESOURCE#<id>          SK=SLOT#<UTC block start>
appointments by start time                      GSI1   GSI1PK=T#<t>#APPOINTMENTS       GSI1SK=<startsAt>#<id>
appointments of a resource by start time        GSI2   GSI2PK=T#<t>#APPOINTMENTS#RESOURCE#<id>  GSI2SK=<startsAt>#<id>
websocket connection → tenant, user (TTL 2 h)   table  PK=ROUTE#WSCONN#<connectionId>  SK=ROUTE
websocket connections of a room (TTL 2 h)       table  PK=T#<t>#ROOM#<room>            SK=<connectionId>
notifications, newest first                     GSI1   GSI1PK=T#<t>#NOTIFICATIONS      GSI1SK=<createdAt>#<id>
notifications by status                         GSI2   GSI2PK=T#<t>#NOTIFICATIONS#STATUS#<s>  GSI2SK=<createdAt>#<id>
notifications by channel                        GSI3   GSI3PK=T#<t>#NOTIFICATIONS#CHANNEL#<c> GSI3SK=<createdAt>#<id>
notifications of a recipient (index items)      table  PK=T#<t>#NOTIFICATIONS#RECIPIENT#<who>  SK=<createdAt>#<id>
notification templates of a tenant, by key      GSI1   GSI1PK=T#<t>#NOTIFTEMPLATES     GSI1SK=<key>#<channel>#<locale>
one template variant                            table  PK=T#<t>#NOTIFTEMPLATE#<key>    SK=<channel>#<locale>
notification settings of a tenant               table  PK=T#<t>#TENANT#<t>             SK=NOTIFYSETTINGS
notification preferences of a customer          table  PK=T#<t>#CUSTOMER#<id>          SK=NOTIFYPREFS
consent history of a customer, newest first     table  PK=T#<t>#CUSTOMER#<id>          SK begins_with CONSENT#
web push subscriptions of a user                table  PK=T#<t>#USER#<id>              SK begins_with PUSHSUB#
provider message id → notification (callbacks)  table  PK=ROUTE#PROVIDERMSG#<hash of provider:id>  SK=ROUTE
last inbound WhatsApp message of a number       table  PK=T#<t>#WAWINDOW#<phone hash>  SK=WAWINDOW
webhook endpoints of a tenant, newest first     GSI1   GSI1PK=T#<t>#WEBHOOKENDPOINTS   GSI1SK=<createdAt>#<id>
webhook endpoints of a tenant (counter, limit)  table  PK=T#<t>#TENANT#<t>             SK=COUNTER#WEBHOOKENDPOINTS
deliveries of an endpoint, newest first (TTL)   table  PK=T#<t>#WEBHOOKENDPOINT#<id>   SK begins_with DELIVERY#
sends to an endpoint in one second (TTL)        table  PK=T#<t>#WEBHOOKENDPOINT#<id>   SK=RATE#<epoch second>
channels of a tenant (numbers, portals), newest GSI1   GSI1PK=T#<t>#CHANNELS           GSI1SK=<createdAt>#<id>
WhatsApp numbers mapped to a Bitrix24 portal    GSI2   GSI2PK=T#<t>#CHANNELS#PORTAL#<portalId>  GSI2SK=<createdAt>#<id>
OAuth tokens of a Bitrix24 portal (+ lease)     table  PK=T#<t>#CHANNEL#<portalId>     SK=TOKEN
connected portals by token expiry (platform)    GSI1   GSI1PK=PLATFORM#B24TOKENS       GSI1SK=<expiresAt>#<t>#<portalId>
sends of a WhatsApp number in one second (TTL)  table  PK=T#<t>#CHANNEL#<channelId>    SK=RATE#<epoch second>
conversations by last message, newest first     GSI1   GSI1PK=T#<t>#CONVERSATIONS      GSI1SK=<lastMessageAt>#<id>
conversations of a channel                      GSI2   GSI2PK=T#<t>#CONVERSATIONS#CHANNEL#<channelId>  GSI2SK=as GSI1SK
conversations of a contact (wa_id keyed hash)  GSI3   GSI3PK=T#<t>#CONVERSATIONS#CONTACT#<hash>  GSI3SK=as GSI1SK
messages of a conversation, by time             table  PK=T#<t>#CONVERSATION#<id>      SK begins_with MSG#
message by a provider id (wamid, b24 message)   table  PK=T#<t>#CONVERSATION#<id>      SK=WAMID#<sha256 of the id>
sales, newest first (sale date)                 GSI1   GSI1PK=T#<t>#SALES              GSI1SK=<createdAt>#<id>
sales by status                                 GSI2   GSI2PK=T#<t>#SALES#<status>     GSI2SK=<createdAt>#<id>
sales of an assigned user (own-scope lists)     GSI3   GSI3PK=T#<t>#SALES#ASSIGNEE#<userId>  GSI3SK=<createdAt>#<id>
sales of a customer (index items: the sale id)  table  PK=T#<t>#SALES#CUSTOMER#<c>    SK=<createdAt>#<id>
sales of a user in a status (index items)       table  PK=T#<t>#SALES#ASSIGNEE#<u>#STATUS#<s>    SK=<createdAt>#<id>
sales of a user with a customer (index items)   table  PK=T#<t>#SALES#ASSIGNEE#<u>#CUSTOMER#<c>  SK=<createdAt>#<id>
sales invoiced, awaiting payment (index items)  table  PK=T#<t>#SALES#PAYMENT#pending  SK=<createdAt>#<id>
sale numbers of a year (gapless counter)        table  PK=T#<t>#TENANT#<t>             SK=COUNTER#SALE-NUMBER-<yyyy>
leads, newest first                             GSI1   GSI1PK=T#<t>#LEADS              GSI1SK=<createdAt>#<id>
leads by status                                 GSI2   GSI2PK=T#<t>#LEADS#<status>     GSI2SK=<createdAt>#<id>
leads of an owner (own-scope lists)             GSI3   GSI3PK=T#<t>#LEADS#OWNER#<userId>  GSI3SK=<createdAt>#<id>
leads of an owner in a status (index items)     table  PK=T#<t>#LEADS#OWNER#<u>#STATUS#<s>   SK=<createdAt>#<id>
open leads by follow-up time (index items; of   table  PK=T#<t>#LEADS[#OWNER#<u>]#FOLLOWUP#DUE  SK=<followUpAt>#<id>
  the tenant, of an owner)
open lead by email / phone (duplicates)         table  PK=T#<t>#UNIQUE#LEADEMAIL|LEADPHONE#<keyed hash>  SK=UNIQUE
sales dashboard numbers of a period (by scope:  table  PK=T#<t>#ANALYTICS#<ALL|userId>  SK=<DAY|WEEK|MONTH>#<start>
  the tenant, or one rep)
open sales and leads by status (by scope)       table  PK=T#<t>#ANALYTICS#<ALL|userId>   SK=PIPELINE
events applied to the analytics, by hour (set;  table  PK=T#<t>#ANALYTICS#LEDGER      SK=APPLIED#<UTC hour>
  TTL 20 days)
export jobs of a tenant, newest first           GSI1   GSI1PK=T#<t>#EXPORTS            GSI1SK=<createdAt>#<id>
privacy export of a person / an erasure         table  PK=T#<t>#PRIVACYEXPORT|ERASURE#<id>  SK=META
one export in flight per person (claim)         table  PK=T#<t>#UNIQUE#PRIVACYEXPORT#<subject>-<id>  SK=UNIQUE
one erasure per customer, kept (claim)          table  PK=T#<t>#UNIQUE#ERASURE#customer-<id>  SK=UNIQUE
payments, newest first                          GSI1   GSI1PK=T#<t>#PAYMENTS           GSI1SK=<createdAt>#<id>
payments by status                              GSI2   GSI2PK=T#<t>#PAYMENTS#STATUS#<s>    GSI2SK=<createdAt>#<id>
payments by provider                            GSI3   GSI3PK=T#<t>#PAYMENTS#PROVIDER#<p>  GSI3SK=<createdAt>#<id>
payments of an order (index items)              table  PK=T#<t>#ORDER#<id>             SK=PAYMENT#<createdAt>_<id>
payment links of an order, newest first         table  PK=T#<t>#ORDER#<id>             SK begins_with PAYLINK#
payment state of an order (current link, paid)  table  PK=T#<t>#ORDER#<id>             SK=PAYSTATE
payment-link token hash → link (TTL)            table  PK=ROUTE#PAYLINK#<sha256 of the token>  SK=ROUTE
provider's payment id → payment (unique)        table  PK=T#<t>#UNIQUE#PROVIDERPAYMENT#<hash>  SK=UNIQUE
marketplace listing (global, not tenant data)   table  PK=MARKET#LISTING#<id>           SK=META
visible listings by name (+ ?q=)                GSI1   GSI1PK=MARKET#LISTINGS           GSI1SK=<folded name>#<id>
visible listings of a category (+ ?q=)          GSI2   GSI2PK=MARKET#LISTINGS#CATEGORY#<id>  GSI2SK=as GSI1SK
visible listings of a brand (+ ?q=)             GSI3   GSI3PK=MARKET#LISTINGS#BRAND#<id>     GSI3SK=as GSI1SK
visible listings by product code (index items)  table  PK=MARKET#LISTINGCODE#<code>    SK=<listingId>
marketplace categories / brands (global)        table  PK=MARKET#CATEGORY|BRAND#<id>   SK=META
marketplace categories / brands, by name        GSI1   GSI1PK=MARKET#CATEGORIES|BRANDS  GSI1SK=<folded name>#<id>
global unique name (marketplace category/brand) table  PK=MARKET#UNIQUE#<FIELD>#<value>  SK=UNIQUE
a seller's listing of a product (one, claim)    table  PK=T#<t>#UNIQUE#MKTPRODUCT#<productId>  SK=UNIQUE
a seller's listings, newest first (the claims)  GSI1   GSI1PK=T#<t>#MKTLISTINGS         GSI1SK=<createdAt>#<id>
marketplace purchases (buyer's half), newest    GSI1   GSI1PK=T#<t>#MKTPURCHASES        GSI1SK=<createdAt>#<id>
marketplace sales (seller's half), newest       GSI1   GSI1PK=T#<t>#MKTSALES            GSI1SK=<createdAt>#<id>
marketplace sales by status                     GSI2   GSI2PK=T#<t>#MKTSALES#<status>   GSI2SK=<createdAt>#<id>
bank accounts of a tenant, newest first         GSI1   GSI1PK=T#<t>#FINACCOUNTS         GSI1SK=<createdAt>#<id>
finance transactions, by date                   GSI1   GSI1PK=T#<t>#FINTXS              GSI1SK=<date>#<id>
finance transactions of an account, by date     GSI2   GSI2PK=T#<t>#FINTXS#ACCOUNT#<id> GSI2SK=<date>#<id>
finance transaction code, income of a source    table  PK=T#<t>#UNIQUE#FINCODE|FINSOURCE#<value>  SK=UNIQUE
recurring items of a tenant                     GSI1   GSI1PK=T#<t>#FINRECURRING        GSI1SK=<createdAt>#<id>
payouts of a tenant, newest first               GSI1   GSI1PK=T#<t>#PAYOUTS             GSI1SK=<createdAt>#<id>
cash flow of a month by category (kept)         table  PK=T#<t>#FINANCE#<t>             SK=CASHFLOW#<yyyy-mm>#<category>
BTRIX subscription of a tenant (its plan's)     table  PK=T#<t>#TENANT#<t>             SK=SUBSCRIPTION
all subscriptions (platform operator)           GSI1   GSI1PK=PLATFORM#SUBSCRIPTIONS  GSI1SK=<createdAt>#<t>
subscriptions by status (platform operator)     GSI3   GSI3PK=PLATFORM#SUBSCRIPTIONS-<STATUS>  GSI3SK=<createdAt>#<t>
past-due subscriptions by grace end (sparse)    GSI2   GSI2PK=PLATFORM#BILLINGPASTDUE  GSI2SK=<graceUntil>#<t>#<subId>
billing transaction (one per provider charge)   table  PK=T#<t>#BILLINGTX#<hash of provider charge> SK=META
billing transactions of a tenant, newest first  GSI1   GSI1PK=T#<t>#BILLINGTXS         GSI1SK=<createdAt>#<id>
billing event parked for the operator           table  PK=T#platform#BILLINGEVENT#<job key>  SK=META
billing events parked, newest first             GSI1   GSI1PK=T#platform#BILLINGEVENTS  GSI1SK=<updatedAt>#<key>
shop assistant of a WhatsApp number (config)    table  PK=T#<t>#CHANNEL#<channelId>    SK=ASSISTANT
assistant's cart of a conversation (TTL)        table  PK=T#<t>#CONVERSATION#<id>      SK=CART
assistant's memory of a conversation (TTL)      table  PK=T#<t>#CONVERSATION#<id>      SK=MEMORY
assistant turns of a conversation per minute    table  PK=T#<t>#CONVERSATION#<id>      SK=RATE#<epoch minute>
  (TTL 2 min)
LLM tokens of a tenant in a month (budget)      table  PK=T#<t>#TENANT#<t>             SK=COUNTER#LLMTOKENS-<yyyy-mm>
==============================================  =====  ==========================================================

One responsibility: the table's key strings. Every key is built and parsed here, next to the access pattern it
serves, so the module grows with the table, not with jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ACCESS_TOKEN_SK",
    "ASSISTANT_SK",
    "CART_SK",
    "EVENT_SK",
    "FOLLOW_UP_SK",
    "IDEMPOTENCY_SK",
    "MAX_PART_BYTES",
    "MEMORY_SK",
    "META_SK",
    "NOTIFICATION_PREFERENCES_SK",
    "NOTIFICATION_SETTINGS_SK",
    "PAYMENT_STATE_SK",
    "PIPELINE_SK",
    "PORTAL_TOKEN_SK",
    "ROUTE_SK",
    "SHIPMENT_SK",
    "STOCK_SK",
    "SUBSCRIPTION_SK",
    "UNIQUE_SK",
    "WHATSAPP_WINDOW_SK",
    "WORKFLOW_RUNTIME_SK",
    "Child",
    "Collection",
    "EntityRef",
    "InvalidKey",
    "Kind",
    "MarketSegment",
    "PlatformCollection",
    "RouteKind",
    "UniqueField",
    "allowed_origin_key",
    "cash_flow_prefix",
    "cash_flow_sk",
    "child_prefix",
    "child_sk",
    "collection_pk",
    "connected_tenants_pk",
    "entity_pk",
    "event_pk",
    "expiry_sk",
    "facet_pk",
    "facets_pk",
    "idempotency_pk",
    "inbound_receipt_sk",
    "inbound_receipts_pk",
    "market_pk",
    "name_prefix",
    "name_sk",
    "parse_allowed_origin_key",
    "parse_cash_flow_sk",
    "parse_child_sk",
    "parse_collection_pk",
    "parse_connected_tenants_pk",
    "parse_entity_pk",
    "parse_event_pk",
    "parse_expiry_sk",
    "parse_facet_pk",
    "parse_facets_pk",
    "parse_idempotency_pk",
    "parse_inbound_receipts_pk",
    "parse_market_pk",
    "parse_name_sk",
    "parse_platform_collection_pk",
    "parse_provider_account_pk",
    "parse_rate_limit_pk",
    "parse_ref_sk",
    "parse_room_pk",
    "parse_route_pk",
    "parse_template_sk",
    "parse_time_sk",
    "parse_unique_pk",
    "parse_whatsapp_window_pk",
    "platform_collection_pk",
    "provider_account_pk",
    "rate_limit_pk",
    "ref_prefix",
    "ref_sk",
    "room_pk",
    "route_pk",
    "template_sk",
    "tenant_prefix",
    "time_sk",
    "unique_pk",
    "whatsapp_window_pk",
]

_SEP = "#"
_TENANT = "T"
_ROUTE = "ROUTE"
_EVENT = "EVENT"
_UNIQUE = "UNIQUE"
_PLATFORM = "PLATFORM"
_RATE = "RATE"
_IDEMPOTENCY = "IDEMPOTENCY"
_INBOUND = "INBOUND"
_MARKET = "MARKET"

META_SK = "META"
EVENT_SK = "EVENT"
ROUTE_SK = "ROUTE"
UNIQUE_SK = "UNIQUE"
STOCK_SK = "STOCK"
IDEMPOTENCY_SK = "IDEMPOTENCY"
NOTIFICATION_SETTINGS_SK = "NOTIFYSETTINGS"
NOTIFICATION_PREFERENCES_SK = "NOTIFYPREFS"
WHATSAPP_WINDOW_SK = "WAWINDOW"
PORTAL_TOKEN_SK = "TOKEN"
ACCESS_TOKEN_SK = "ACCESSTOKEN"
SHIPMENT_SK = "SHIPMENT"
_REF = "REF"
_CONNECTED = "CONNECTED"
WORKFLOW_RUNTIME_SK = "WORKFLOW#RUNTIME"
PIPELINE_SK = "PIPELINE"
PAYMENT_STATE_SK = "PAYSTATE"
SUBSCRIPTION_SK = "SUBSCRIPTION"
# The shop assistant: its configuration on a number's partition, a customer's cart, memory and pending follow-up
# (a reminder) on the conversation's.
ASSISTANT_SK = "ASSISTANT"
CART_SK = "CART"
MEMORY_SK = "MEMORY"
FOLLOW_UP_SK = "FOLLOWUP"
# The analytics partitions' ids: the tenant's own numbers (a rep's are under its user id) and the event ledger.
ANALYTICS_ALL = "ALL"
ANALYTICS_LEDGER = "LEDGER"
_WHATSAPP_WINDOW = "WAWINDOW"


# The longest id a key takes: DynamoDB refuses a partition key over 2048 bytes and a sort key over 1024 (a
# ValidationException, a 500 to the caller), so a longer id from a request names nothing (a 404 or 422, as a "#").
MAX_PART_BYTES = 512


class InvalidKey(ValueError):
    """Raised when a key string does not have the shape its parser expects, or a part contains ``#`` or is longer
    than ``MAX_PART_BYTES``.

    ``part`` is the offending value when a part was refused (an id from a request that cannot name anything).
    """

    def __init__(self, message: str, part: str | None = None) -> None:
        super().__init__(message)
        self.part = part


class Kind(StrEnum):
    """Entity kinds that are their own partition."""

    TENANT = "TENANT"
    USER = "USER"
    PRODUCT = "PRODUCT"
    CATEGORY = "CATEGORY"
    BRAND = "BRAND"
    CUSTOMER = "CUSTOMER"
    ORDER = "ORDER"
    APPOINTMENT = "APPOINTMENT"
    RESOURCE = "RESOURCE"
    WORKFLOW = "WORKFLOW"
    NOTIFICATION = "NOTIFICATION"
    NOTIFICATION_TEMPLATE = "NOTIFTEMPLATE"
    WEBHOOK_ENDPOINT = "WEBHOOKENDPOINT"
    INTEGRATION = "INTEGRATION"
    INTEGRATION_JOB = "INTEGRATIONJOB"
    QUEUE = "QUEUE"
    CHANNEL = "CHANNEL"
    CONVERSATION = "CONVERSATION"
    SERVICE = "SERVICE"
    SALE = "SALE"
    LEAD = "LEAD"
    PAYMENT = "PAYMENT"
    ANALYTICS = "ANALYTICS"
    EXPORT = "EXPORT"
    MARKET_PURCHASE = "MKTPURCHASE"
    MARKETPLACE_TRANSACTION = "MKTSALE"
    BANK_ACCOUNT = "FINACCOUNT"
    FINANCE_TRANSACTION = "FINTX"
    RECURRING_ITEM = "FINRECURRING"
    PAYOUT = "PAYOUT"
    FINANCE = "FINANCE"
    BILLING_TRANSACTION = "BILLINGTX"
    BILLING_EVENT = "BILLINGEVENT"
    PRIVACY_EXPORT = "PRIVACYEXPORT"
    ERASURE = "ERASURE"


class Collection(StrEnum):
    """Per-tenant lists, kept on a GSI partition."""

    USERS = "USERS"
    PRODUCTS = "PRODUCTS"
    CATEGORIES = "CATEGORIES"
    BRANDS = "BRANDS"
    CUSTOMERS = "CUSTOMERS"
    ORDERS = "ORDERS"
    APPOINTMENTS = "APPOINTMENTS"
    NOTIFICATIONS = "NOTIFICATIONS"
    NOTIFICATION_TEMPLATES = "NOTIFTEMPLATES"
    WEBHOOK_ENDPOINTS = "WEBHOOKENDPOINTS"
    CONVERSATIONS = "CONVERSATIONS"
    SALES = "SALES"
    LEADS = "LEADS"
    AUDIT = "AUDIT"
    WORKFLOWS = "WORKFLOWS"
    STOCK = "STOCK"
    RESOURCES = "RESOURCES"
    INTEGRATIONS = "INTEGRATIONS"
    CHANNELS = "CHANNELS"
    EXPORTS = "EXPORTS"
    PAYMENTS = "PAYMENTS"
    MARKET_LISTINGS = "MKTLISTINGS"
    MARKET_PURCHASES = "MKTPURCHASES"
    MARKET_SALES = "MKTSALES"
    FINANCE_ACCOUNTS = "FINACCOUNTS"
    FINANCE_TRANSACTIONS = "FINTXS"
    RECURRING_ITEMS = "FINRECURRING"
    PAYOUTS = "PAYOUTS"
    BILLING_TRANSACTIONS = "BILLINGTXS"
    BILLING_EVENTS = "BILLINGEVENTS"
    OPEN_SHIPMENTS = "OPENSHIPMENTS"


class RouteKind(StrEnum):
    """Global lookups that find the tenant from something a provider or a login sends."""

    LOGIN_EMAIL = "EMAIL"
    LOGIN_CPF = "CPF"
    WHATSAPP_PHONE_ID = "WAPHONE"
    BITRIX_MEMBER = "B24MEMBER"
    PAYMENT_LINK = "PAYLINK"
    REFRESH_TOKEN = "REFRESH"
    INVITE = "INVITE"
    WS_CONNECTION = "WSCONN"
    BITRIX_CONNECT = "B24CONNECT"
    PROVIDER_MESSAGE = "PROVIDERMSG"
    ALLOWED_ORIGIN = "ORIGIN"
    PROVIDER_ACCOUNT = "ACCOUNT"


class Child(StrEnum):
    """Kinds of item under an entity: ``<CHILD>#<id>`` sort keys in the entity's partition."""

    SESSION = "SESSION"
    ONE_TIME_CODE = "OTP"
    AUDIT = "AUDIT"
    HISTORY = "HISTORY"
    REMINDER = "REMINDER"
    WORKFLOW = "WORKFLOW"
    VERSION = "VERSION"
    MOVEMENT = "MOVEMENT"
    SLOT = "SLOT"
    DELIVERY = "DELIVERY"
    RATE = "RATE"
    COUNTER = "COUNTER"
    SYNC_LOG = "SYNCLOG"
    PUSH_SUBSCRIPTION = "PUSHSUB"
    USER_ORDER = "ORDER"
    MESSAGE = "MSG"
    PROVIDER_MESSAGE = "WAMID"
    PENDING_JOB = "PENDING"
    CONSENT = "CONSENT"
    APPLIED = "APPLIED"
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    CASH_FLOW = "CASHFLOW"
    LABELS = "LABELS"
    SHIPPING_QUOTE = "SHIPQUOTE"


class Facet(StrEnum):
    """How a collection is narrowed: ``T#<t>#<COLLECTION>#<FACET>[#<value>]`` (by a reference, a field, a name)."""

    STATUS = "STATUS"
    CHANNEL = "CHANNEL"
    RECIPIENT = "RECIPIENT"
    CUSTOMER = "CUSTOMER"
    CATEGORY = "CATEGORY"
    BRAND = "BRAND"
    RESOURCE = "RESOURCE"
    CONTACT = "CONTACT"
    PORTAL = "PORTAL"
    NAME = "NAME"
    LOW = "LOW"
    ASSIGNEE = "ASSIGNEE"
    OWNER = "OWNER"
    PAYMENT = "PAYMENT"
    FOLLOW_UP = "FOLLOWUP"
    ACCOUNT = "ACCOUNT"


class UniqueField(StrEnum):
    """Values that are unique in a tenant: ``T#<t>#UNIQUE#<FIELD>#<value>`` claims."""

    PRODUCT_CODE = "PRODUCTCODE"
    CATEGORY_NAME = "CATEGORYNAME"
    BRAND_NAME = "BRANDNAME"
    CUSTOMER_EMAIL = "CUSTOMEREMAIL"
    CUSTOMER_PHONE = "CUSTOMERPHONE"
    WHATSAPP_NUMBER = "WAPHONE"
    LEAD_EMAIL = "LEADEMAIL"
    LEAD_PHONE = "LEADPHONE"
    MARKET_PRODUCT = "MKTPRODUCT"
    FINANCE_CODE = "FINCODE"
    FINANCE_SOURCE = "FINSOURCE"
    MARKET_CATEGORY_NAME = "MKTCATEGORYNAME"
    MARKET_BRAND_NAME = "MKTBRANDNAME"
    PRIVACY_EXPORT = "PRIVACYEXPORT"
    ERASURE = "ERASURE"


class MarketSegment(StrEnum):
    """What a key of the global marketplace index names (``MARKET#<SEGMENT>#…``)."""

    LISTING = "LISTING"
    LISTINGS = "LISTINGS"
    LISTING_CODE = "LISTINGCODE"
    CATEGORY = "CATEGORY"
    CATEGORIES = "CATEGORIES"
    BRAND = "BRAND"
    BRANDS = "BRANDS"
    UNIQUE = "UNIQUE"


class PlatformCollection(StrEnum):
    """Lists across tenants, for the platform: ``PLATFORM#<COLLECTION>``."""

    TENANTS = "TENANTS"
    BITRIX24_TOKENS = "B24TOKENS"
    SUBSCRIPTIONS = "SUBSCRIPTIONS"
    BILLING_PAST_DUE = "BILLINGPASTDUE"


@dataclass(frozen=True)
class EntityRef:
    """A parsed entity partition key."""

    tenant_id: str
    kind: Kind
    entity_id: str


def _part(value: str, what: str) -> str:
    if not value or _SEP in value:
        raise InvalidKey(f"{what} must be non-empty and must not contain '{_SEP}': {value!r}", part=value)
    if len(value.encode()) > MAX_PART_BYTES:
        raise InvalidKey(f"{what} is over {MAX_PART_BYTES} bytes: {value[:40]!r}…", part=value)
    return value


def _split(key: str, expected_parts: int, what: str) -> list[str]:
    parts = key.split(_SEP)
    if len(parts) != expected_parts or not all(parts):
        raise InvalidKey(f"not a {what} key: {key!r}")
    return parts


def tenant_prefix(tenant_id: str) -> str:
    """``T#<tenantId>#``: the prefix every key of the tenant starts with (IAM LeadingKeys)."""
    return f"{_TENANT}{_SEP}{_part(tenant_id, 'tenant id')}{_SEP}"


def _tenant_of(parts: list[str], key: str) -> str:
    if parts[0] != _TENANT:
        raise InvalidKey(f"not a tenant key: {key!r}")
    return parts[1]


def entity_pk(tenant_id: str, kind: Kind, entity_id: str) -> str:
    """``T#<t>#<KIND>#<id>``: the partition of one entity."""
    return f"{tenant_prefix(tenant_id)}{kind.value}{_SEP}{_part(entity_id, 'entity id')}"


def parse_entity_pk(key: str) -> EntityRef:
    """Inverse of ``entity_pk``."""
    parts = _split(key, 4, "entity")
    try:
        kind = Kind(parts[2])
    except ValueError as exc:
        raise InvalidKey(f"unknown entity kind in {key!r}") from exc
    return EntityRef(_tenant_of(parts, key), kind, parts[3])


def child_sk(child: str, child_id: str) -> str:
    """``<CHILD>#<id>``: the sort key of an item under an entity (an order line, a history entry)."""
    return f"{_part(child, 'child type')}{_SEP}{_part(child_id, 'child id')}"


def child_prefix(child: str) -> str:
    """``<CHILD>#``: the begins_with prefix that lists one kind of child."""
    return f"{_part(child, 'child type')}{_SEP}"


def parse_child_sk(key: str) -> tuple[str, str]:
    """Inverse of ``child_sk``: (child type, child id)."""
    child, child_id = _split(key, 2, "child")
    return child, child_id


def collection_pk(tenant_id: str, collection: Collection, value: str | None = None) -> str:
    """``T#<t>#<COLLECTION>`` or, narrowed by a field value, ``T#<t>#<COLLECTION>#<value>``."""
    base = f"{tenant_prefix(tenant_id)}{collection.value}"
    return base if value is None else f"{base}{_SEP}{_part(value, 'collection value')}"


def parse_collection_pk(key: str) -> tuple[str, Collection, str | None]:
    """Inverse of ``collection_pk``: (tenant id, collection, value or None)."""
    parts = key.split(_SEP)
    if len(parts) not in (3, 4) or not all(parts):
        raise InvalidKey(f"not a collection key: {key!r}")
    try:
        collection = Collection(parts[2])
    except ValueError as exc:
        raise InvalidKey(f"unknown collection in {key!r}") from exc
    return _tenant_of(parts, key), collection, parts[3] if len(parts) == 4 else None


def time_sk(created_at: str, entity_id: str) -> str:
    """``<createdAt ISO>#<id>``: sorts a collection by time, the id breaking ties."""
    return f"{_part(created_at, 'timestamp')}{_SEP}{_part(entity_id, 'entity id')}"


def parse_time_sk(key: str) -> tuple[str, str]:
    """Inverse of ``time_sk``: (createdAt, id)."""
    created_at, entity_id = _split(key, 2, "time-sorted")
    return created_at, entity_id


def unique_pk(tenant_id: str, field: str, value: str) -> str:
    """``T#<t>#UNIQUE#<FIELD>#<value>``: claims a value that must be unique in the tenant."""
    return f"{tenant_prefix(tenant_id)}{_UNIQUE}{_SEP}{_part(field, 'field')}{_SEP}{_part(value, 'value')}"


def parse_unique_pk(key: str) -> tuple[str, str, str]:
    """Inverse of ``unique_pk``: (tenant id, field, value)."""
    parts = _split(key, 5, "unique")
    if parts[2] != _UNIQUE:
        raise InvalidKey(f"not a unique key: {key!r}")
    return _tenant_of(parts, key), parts[3], parts[4]


def event_pk(tenant_id: str, event_id: str) -> str:
    """``T#<t>#EVENT#<eventId>``: a domain event waiting for the outbox publisher."""
    return f"{tenant_prefix(tenant_id)}{_EVENT}{_SEP}{_part(event_id, 'event id')}"


def parse_event_pk(key: str) -> tuple[str, str]:
    """Inverse of ``event_pk``: (tenant id, event id)."""
    parts = _split(key, 4, "event")
    if parts[2] != _EVENT:
        raise InvalidKey(f"not an event key: {key!r}")
    return _tenant_of(parts, key), parts[3]


def route_pk(kind: RouteKind, value: str) -> str:
    """``ROUTE#<KIND>#<value>``: a global lookup item, outside every tenant."""
    return f"{_ROUTE}{_SEP}{kind.value}{_SEP}{_part(value, 'route value')}"


def parse_route_pk(key: str) -> tuple[RouteKind, str]:
    """Inverse of ``route_pk``: (kind, value)."""
    parts = _split(key, 3, "route")
    if parts[0] != _ROUTE:
        raise InvalidKey(f"not a route key: {key!r}")
    try:
        return RouteKind(parts[1]), parts[2]
    except ValueError as exc:
        raise InvalidKey(f"unknown route kind in {key!r}") from exc


def provider_account_pk(provider: str, account_id: str) -> str:
    """``ROUTE#ACCOUNT#<provider>#<account id>``: the tenant that connected this provider account (a Bling company,
    a MelhorEnvio user) through BTRIX's shared app, whose webhooks name the account, not the tenant."""
    account = _part(account_id, "account id")
    return f"{_ROUTE}{_SEP}{RouteKind.PROVIDER_ACCOUNT.value}{_SEP}{_part(provider, 'provider')}{_SEP}{account}"


def parse_provider_account_pk(key: str) -> tuple[str, str]:
    """Inverse of ``provider_account_pk``: (provider, account id)."""
    parts = _split(key, 4, "provider account")
    if parts[0] != _ROUTE or parts[1] != RouteKind.PROVIDER_ACCOUNT.value:
        raise InvalidKey(f"not a provider account key: {key!r}")
    return parts[2], parts[3]


def allowed_origin_key(origin: str, tenant_id: str) -> tuple[str, str]:
    """(``ROUTE#ORIGIN#<origin>``, ``TENANT#<t>``): one tenant allows browsers at ``origin`` (several may)."""
    return route_pk(RouteKind.ALLOWED_ORIGIN, origin), f"{Kind.TENANT.value}{_SEP}{_part(tenant_id, 'tenant id')}"


def parse_allowed_origin_key(pk: str, sk: str) -> tuple[str, str]:
    """Inverse of ``allowed_origin_key``: (origin, tenant id)."""
    kind, origin = parse_route_pk(pk)
    parts = _split(sk, 2, "allowed origin")
    if kind is not RouteKind.ALLOWED_ORIGIN or parts[0] != Kind.TENANT.value:
        raise InvalidKey(f"not an allowed-origin key: {pk!r}, {sk!r}")
    return origin, parts[1]


def platform_collection_pk(collection: str) -> str:
    """``PLATFORM#<COLLECTION>``: a list across tenants, for the platform operator (``TENANTS``)."""
    return f"{_PLATFORM}{_SEP}{_part(collection, 'collection')}"


def parse_platform_collection_pk(key: str) -> str:
    """Inverse of ``platform_collection_pk``: the collection."""
    parts = _split(key, 2, "platform collection")
    if parts[0] != _PLATFORM:
        raise InvalidKey(f"not a platform key: {key!r}")
    return parts[1]


def expiry_sk(expires_at: str, tenant_id: str, entity_id: str) -> str:
    """``<expiresAt ISO>#<tenantId>#<id>``: sorts a platform list by expiry (Bitrix24 portals by token expiry)."""
    return f"{_part(expires_at, 'expiry')}{_SEP}{_part(tenant_id, 'tenant id')}{_SEP}{_part(entity_id, 'entity id')}"


def parse_expiry_sk(key: str) -> tuple[str, str, str]:
    """Inverse of ``expiry_sk``: (expiresAt, tenant id, id)."""
    expires_at, tenant_id, entity_id = _split(key, 3, "expiry-sorted")
    return expires_at, tenant_id, entity_id


def rate_limit_pk(scope: str, subject_hash: str) -> str:
    """``RATE#<scope>#<subject hash>``: attempts of one subject (an identifier, an IP) at one thing."""
    return f"{_RATE}{_SEP}{_part(scope, 'scope')}{_SEP}{_part(subject_hash, 'subject')}"


def parse_rate_limit_pk(key: str) -> tuple[str, str]:
    """Inverse of ``rate_limit_pk``: (scope, subject hash)."""
    parts = _split(key, 3, "rate limit")
    if parts[0] != _RATE:
        raise InvalidKey(f"not a rate-limit key: {key!r}")
    return parts[1], parts[2]


def room_pk(tenant_id: str, room: str) -> str:
    """``T#<t>#ROOM#<room>``: the live-update connections listening to a room (the tenant's, a user's)."""
    return f"{tenant_prefix(tenant_id)}ROOM{_SEP}{_part(room, 'room')}"


def parse_room_pk(key: str) -> tuple[str, str]:
    """Inverse of ``room_pk``: (tenant id, room)."""
    parts = _split(key, 4, "room")
    if parts[2] != "ROOM":
        raise InvalidKey(f"not a room key: {key!r}")
    return _tenant_of(parts, key), parts[3]


def facet_pk(tenant_id: str, collection: Collection, facet: str, value: str) -> str:
    """``T#<t>#<COLLECTION>#<FACET>#<value>``: a collection narrowed by a reference (the products of a category)."""
    return f"{collection_pk(tenant_id, collection, _part(facet, 'facet'))}{_SEP}{_part(value, 'facet value')}"


def parse_facet_pk(key: str) -> tuple[str, Collection, str, str]:
    """Inverse of ``facet_pk``: (tenant id, collection, facet, value)."""
    parts = _split(key, 5, "facet")
    try:
        collection = Collection(parts[2])
    except ValueError as exc:
        raise InvalidKey(f"unknown collection in {key!r}") from exc
    return _tenant_of(parts, key), collection, parts[3], parts[4]


def facets_pk(tenant_id: str, collection: Collection, facets: Sequence[tuple[str, str]]) -> str:
    """``T#<t>#<COLLECTION>#<FACET>#<value>[#<FACET>#<value>…]``: a collection narrowed by one or more references
    (the sales of a user in one status); one pair is the shape of ``facet_pk``."""
    if not facets:
        raise InvalidKey("a faceted key needs at least one (facet, value) pair")
    tail = _SEP.join(f"{_part(facet, 'facet')}{_SEP}{_part(value, 'facet value')}" for facet, value in facets)
    return f"{collection_pk(tenant_id, collection)}{_SEP}{tail}"


def parse_facets_pk(key: str) -> tuple[str, Collection, tuple[tuple[str, str], ...]]:
    """Inverse of ``facets_pk``: (tenant id, collection, the (facet, value) pairs)."""
    parts = key.split(_SEP)
    if len(parts) < 5 or len(parts) % 2 == 0 or not all(parts):
        raise InvalidKey(f"not a faceted key: {key!r}")
    try:
        collection = Collection(parts[2])
    except ValueError as exc:
        raise InvalidKey(f"unknown collection in {key!r}") from exc
    pairs = tuple((parts[i], parts[i + 1]) for i in range(3, len(parts), 2))
    return _tenant_of(parts, key), collection, pairs


def name_sk(folded_name: str, entity_id: str, group: str | None = None) -> str:
    """``[<group>#]<folded name>#<id>``: sorts a list by name (the id breaks ties); ``group`` sorts first."""
    tail = f"{_part(folded_name, 'folded name')}{_SEP}{_part(entity_id, 'entity id')}"
    return tail if group is None else f"{_part(group, 'group')}{_SEP}{tail}"


def parse_name_sk(key: str) -> tuple[str | None, str, str]:
    """Inverse of ``name_sk``: (group or None, folded name, id)."""
    parts = key.split(_SEP)
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidKey(f"not a name-sorted key: {key!r}")
    if len(parts) == 2:
        return None, parts[0], parts[1]
    return parts[0], parts[1], parts[2]


def name_prefix(folded_prefix: str, group: str | None = None) -> str:
    """The begins_with value that finds names starting with ``folded_prefix`` (empty: the whole group)."""
    if _SEP in folded_prefix:
        raise InvalidKey(f"a name prefix must not contain '{_SEP}': {folded_prefix!r}")
    return folded_prefix if group is None else f"{_part(group, 'group')}{_SEP}{folded_prefix}"


def idempotency_pk(tenant_id: str, key_hash: str) -> str:
    """``T#<t>#IDEMPOTENCY#<key hash>``: the recorded response of a create sent with an Idempotency-Key."""
    return f"{tenant_prefix(tenant_id)}{_IDEMPOTENCY}{_SEP}{_part(key_hash, 'key hash')}"


def parse_idempotency_pk(key: str) -> tuple[str, str]:
    """Inverse of ``idempotency_pk``: (tenant id, key hash)."""
    parts = _split(key, 4, "idempotency")
    if parts[2] != _IDEMPOTENCY:
        raise InvalidKey(f"not an idempotency key: {key!r}")
    return _tenant_of(parts, key), parts[3]


def inbound_receipts_pk(provider: str, shard: int) -> str:
    """``INBOUND#<provider>#<shard>``: where incoming webhooks of a provider are recorded once (Powertools
    idempotency items; the sort key is Powertools' ``<provider>#<hash>``). Outside every tenant: the record is
    made before, or without, knowing the tenant. Sharded so one busy provider is not one hot partition."""
    if shard < 0:
        raise InvalidKey(f"a shard is a non-negative number: {shard}")
    return f"{_INBOUND}{_SEP}{_part(provider, 'provider')}{_SEP}{shard}"


def inbound_receipt_sk(provider: str, key_hash: str) -> str:
    """``<provider>#<key hash>``: the sort key Powertools idempotency gives a record (``key_prefix#hash``)."""
    return f"{_part(provider, 'provider')}{_SEP}{_part(key_hash, 'key hash')}"


def parse_inbound_receipts_pk(key: str) -> tuple[str, int]:
    """Inverse of ``inbound_receipts_pk``: (provider, shard)."""
    parts = _split(key, 3, "inbound receipts")
    if parts[0] != _INBOUND or not parts[2].isdigit():
        raise InvalidKey(f"not an inbound receipts key: {key!r}")
    return parts[1], int(parts[2])


def template_sk(template_key: str, channel: str, locale: str) -> str:
    """``<key>#<channel>#<locale>``: sorts a tenant's notification templates by key, then variant."""
    return f"{_part(template_key, 'template key')}{_SEP}{_part(channel, 'channel')}{_SEP}{_part(locale, 'locale')}"


def parse_template_sk(key: str) -> tuple[str, str, str]:
    """Inverse of ``template_sk``: (template key, channel, locale)."""
    template_key, channel, locale = _split(key, 3, "template")
    return template_key, channel, locale


def whatsapp_window_pk(tenant_id: str, phone_hash: str) -> str:
    """``T#<t>#WAWINDOW#<phone hash>``: when a WhatsApp number last wrote to the tenant (the 24-hour window)."""
    return f"{tenant_prefix(tenant_id)}{_WHATSAPP_WINDOW}{_SEP}{_part(phone_hash, 'phone hash')}"


def parse_whatsapp_window_pk(key: str) -> tuple[str, str]:
    """Inverse of ``whatsapp_window_pk``: (tenant id, phone hash)."""
    parts = _split(key, 4, "whatsapp window")
    if parts[2] != _WHATSAPP_WINDOW:
        raise InvalidKey(f"not a whatsapp window key: {key!r}")
    return _tenant_of(parts, key), parts[3]


def ref_sk(kind: str, local_id: str) -> str:
    """``REF#<kind>#<localId>``: under an integration, the provider's id for one of ours (a product, an invoice)."""
    return f"{_REF}{_SEP}{_part(kind, 'reference kind')}{_SEP}{_part(local_id, 'local id')}"


def ref_prefix(kind: str) -> str:
    """``REF#<kind>#``: the begins_with value that lists one kind of reference of an integration."""
    return f"{_REF}{_SEP}{_part(kind, 'reference kind')}{_SEP}"


def parse_ref_sk(key: str) -> tuple[str, str]:
    """Inverse of ``ref_sk``: (kind, local id)."""
    parts = _split(key, 3, "reference")
    if parts[0] != _REF:
        raise InvalidKey(f"not a reference key: {key!r}")
    return parts[1], parts[2]


def connected_tenants_pk(provider: str) -> str:
    """``PLATFORM#CONNECTED#<provider>``: the tenants connected to a provider (a schedule's fan-out list), outside
    every tenant like the platform's other lists."""
    return f"{_PLATFORM}{_SEP}{_CONNECTED}{_SEP}{_part(provider, 'provider')}"


def parse_connected_tenants_pk(key: str) -> str:
    """Inverse of ``connected_tenants_pk``: the provider."""
    parts = _split(key, 3, "connected tenants")
    if parts[0] != _PLATFORM or parts[1] != _CONNECTED:
        raise InvalidKey(f"not a connected-tenants key: {key!r}")
    return parts[2]


def market_pk(segment: MarketSegment, *values: str) -> str:
    """``MARKET#<SEGMENT>[#<value>…]``: the global marketplace index (listings, their facets, the operator's
    categories and brands), outside every tenant by design: buyers of any tenant read it."""
    tail = "".join(f"{_SEP}{_part(value, 'market key part')}" for value in values)
    return f"{_MARKET}{_SEP}{segment.value}{tail}"


def parse_market_pk(key: str) -> tuple[MarketSegment, tuple[str, ...]]:
    """Inverse of ``market_pk``: (segment, the values after it)."""
    parts = key.split(_SEP)
    if len(parts) < 2 or parts[0] != _MARKET or not all(parts):
        raise InvalidKey(f"not a marketplace key: {key!r}")
    try:
        return MarketSegment(parts[1]), tuple(parts[2:])
    except ValueError as exc:
        raise InvalidKey(f"unknown marketplace segment in {key!r}") from exc


def cash_flow_sk(month: str, currency: str, category_key: str) -> str:
    """``CASHFLOW#<yyyy-mm>#<currency>#<category key>``: a month's income and expense of one category (kept by every
    transaction's write), sorted by month so a report reads a range of months."""
    parts = (_part(month, "month"), _part(currency, "currency"), _part(category_key, "category"))
    return f"{Child.CASH_FLOW.value}{_SEP}" + _SEP.join(parts)


def cash_flow_prefix(month: str) -> str:
    """``CASHFLOW#<yyyy-mm>``: the start of a month's range (append ``~`` for its end)."""
    return f"{Child.CASH_FLOW.value}{_SEP}{_part(month, 'month')}"


def parse_cash_flow_sk(key: str) -> tuple[str, str, str]:
    """Inverse of ``cash_flow_sk``: (month, currency, category key)."""
    parts = _split(key, 4, "cash flow")
    if parts[0] != Child.CASH_FLOW.value:
        raise InvalidKey(f"not a cash flow key: {key!r}")
    return parts[1], parts[2], parts[3]
