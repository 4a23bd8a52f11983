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
public half of the token signing keys (guard)   table  PK=PLATFORM#SIGNINGKEYS         SK=META
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

Every key is built and parsed in this package, by the kind of key: ``names`` (the segments, the fixed sort keys,
the rule a part obeys), ``tenant`` (partitions under ``T#<t>#``), ``sort`` (sort keys), ``platform`` (keys outside
every tenant). Import them from here: ``from chalicelib.core.db import keys`` / ``from chalicelib.core.db.keys
import entity_pk``.
"""

from __future__ import annotations

from chalicelib.core.db.keys.names import (
    ACCESS_TOKEN_SK,
    ANALYTICS_ALL,
    ANALYTICS_LEDGER,
    ASSISTANT_SK,
    CART_SK,
    EVENT_SK,
    FOLLOW_UP_SK,
    IDEMPOTENCY_SK,
    MAX_PART_BYTES,
    MEMORY_SK,
    META_SK,
    NOTIFICATION_PREFERENCES_SK,
    NOTIFICATION_SETTINGS_SK,
    PAYMENT_STATE_SK,
    PIPELINE_SK,
    PORTAL_TOKEN_SK,
    ROUTE_SK,
    SHIPMENT_SK,
    STOCK_SK,
    SUBSCRIPTION_SK,
    UNIQUE_SK,
    WHATSAPP_WINDOW_SK,
    WORKFLOW_RUNTIME_SK,
    Child,
    Collection,
    Facet,
    InvalidKey,
    Kind,
    MarketSegment,
    PlatformCollection,
    PlatformItem,
    RouteKind,
    UniqueField,
)
from chalicelib.core.db.keys.platform import (
    allowed_origin_key,
    connected_tenants_pk,
    inbound_receipts_pk,
    market_pk,
    parse_allowed_origin_key,
    parse_connected_tenants_pk,
    parse_inbound_receipts_pk,
    parse_market_pk,
    parse_platform_collection_pk,
    parse_platform_item_key,
    parse_provider_account_pk,
    parse_rate_limit_pk,
    parse_route_pk,
    platform_collection_pk,
    platform_item_key,
    provider_account_pk,
    rate_limit_pk,
    route_pk,
)
from chalicelib.core.db.keys.sort import (
    cash_flow_prefix,
    cash_flow_sk,
    child_prefix,
    child_sk,
    expiry_sk,
    inbound_receipt_sk,
    name_prefix,
    name_sk,
    parse_cash_flow_sk,
    parse_child_sk,
    parse_expiry_sk,
    parse_name_sk,
    parse_ref_sk,
    parse_template_sk,
    parse_time_sk,
    ref_prefix,
    ref_sk,
    template_sk,
    time_sk,
)
from chalicelib.core.db.keys.tenant import (
    EntityRef,
    collection_pk,
    entity_pk,
    event_pk,
    facet_pk,
    facets_pk,
    idempotency_pk,
    parse_collection_pk,
    parse_entity_pk,
    parse_event_pk,
    parse_facet_pk,
    parse_facets_pk,
    parse_idempotency_pk,
    parse_room_pk,
    parse_unique_pk,
    parse_whatsapp_window_pk,
    room_pk,
    tenant_prefix,
    unique_pk,
    whatsapp_window_pk,
)

__all__ = [
    "ACCESS_TOKEN_SK",
    "ANALYTICS_ALL",
    "ANALYTICS_LEDGER",
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
    "Facet",
    "InvalidKey",
    "Kind",
    "MarketSegment",
    "PlatformCollection",
    "PlatformItem",
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
    "parse_platform_item_key",
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
    "platform_item_key",
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
