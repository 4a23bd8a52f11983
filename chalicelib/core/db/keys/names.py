"""The segments keys are made of: the names of kinds, collections, children, facets, unique fields, routes and
platform lists (stores use these and spell no segment themselves), the fixed sort keys, and the rule every part of
a key obeys (no ``#``, at most ``MAX_PART_BYTES``).
"""

from __future__ import annotations

from enum import StrEnum

SEP = "#"
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


class PlatformItem(StrEnum):
    """Single items of the platform, outside every tenant: ``PLATFORM#<ITEM>`` / ``META``."""

    SIGNING_KEYS = "SIGNINGKEYS"


def part(value: str, what: str) -> str:
    """``value`` as one part of a key: refused (``InvalidKey``) when empty, holding ``#`` or too long."""
    if not value or SEP in value:
        raise InvalidKey(f"{what} must be non-empty and must not contain '{SEP}': {value!r}", part=value)
    if len(value.encode()) > MAX_PART_BYTES:
        raise InvalidKey(f"{what} is over {MAX_PART_BYTES} bytes: {value[:40]!r}…", part=value)
    return value


def split(key: str, expected_parts: int, what: str) -> list[str]:
    """The ``expected_parts`` non-empty parts of ``key`` (``InvalidKey`` when it has another shape)."""
    parts = key.split(SEP)
    if len(parts) != expected_parts or not all(parts):
        raise InvalidKey(f"not a {what} key: {key!r}")
    return parts
