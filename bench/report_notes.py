"""The prose of docs/PERFORMANCE.md: what each section measures and how to read it (bench/report.py renders the
numbers around it)."""

from __future__ import annotations

PREAMBLE = """\
# Performance

Written by `make bench` (`python -m bench`, code in `bench/`). Do not edit by hand: run it again.
Benchmarks are not tests and nothing here fails a build; the numbers are for comparing a change with the
one before it on the same machine. Ratios travel between machines better than milliseconds do."""


COLD_START = """\
Each variant runs in a fresh interpreter (`python -c …` as a subprocess, from the repository root) with the
same environment: dummy credentials and region, AWS config and credential files pointed at /dev/null,
the `prod` stage's variables from `.chalice/config.json`, and no network call. The variants are interleaved
(the order rotates every round) after one discarded warm-up each, so all are timed with warm bytecode and
page caches. A new Lambda container also compiles every shipped module it imports (the package ships sources only
and /var/task is read-only): the no-bytecode rows run `import app` so, with a bytecode cache of their own
(`PYTHONPYCACHEPREFIX`, `PYTHONDONTWRITEBYTECODE`) that keeps the standard library's and boto3's and botocore's (the
runtime has them compiled) but none of `app.py`, `chalicelib/`, `functions/`, Chalice's two files or the
distributions `requirements.txt` installs, interleaved with the floor and the warm `import app`. The floor is
the least any DynamoDB-backed Python function pays: `import boto3` plus one DynamoDB client. `import app`
builds no client (clients are created lazily), so the last row adds the first client, which the first request
of a new container pays. Cold start is latency users feel: it lands on the first request of every new
container, on top of the request itself, against the API target of p95 < 200 ms."""


OVERHEAD = """\
`compare(label, full, bare)` times both callables alternately (who goes first flips every iteration) after a
warm-up, against the same DynamoDB Local and moto server on loopback. The full path of an HTTP row is
`chalice.test.Client` → `ProblemGateway` (Chalice's local API Gateway: event building, routing) →
middleware → route → service → the shared boto3 clients; its bare path is the same AWS calls made with a plain
`boto3.client`. `GET /health` is one DescribeTable plus GetQueueUrl and GetQueueAttributes for every job queue
and its dead-letter queue. The data-layer rows compare `Table` methods (serialisation, expressions,
deserialisation) with the raw client call. Ratio = full median / bare median; overhead = full median - bare
median. Where the round trips dominate (`GET /health`: see its calls under capacity) the difference is within the run's
jitter, so the last column takes, per sample, the wall time minus the time spent inside AWS calls (botocore's
`before-call` to `after-call`: signing, HTTP, parsing), then subtracts the bare path's median of the same from
the full path's: the time our code adds to a request, steadier because the server's jitter is taken out.
Locally there is no network and no API Gateway, so absolute numbers are lower bounds; the overhead is
CPU time, which a Lambda with less than one vCPU pays more slowly. The target is API p95 < 200 ms.

The `/auth` rows run as the ADMIN that the set-up signed up through `POST /auth/signup`, each request from a
new documentation-range address in `X-Forwarded-For` so the per-IP brute-force limits do not refuse it.
`GET /auth/me vs 1 bare GetItem (user)` sets a whole authenticated request (bearer header, ES256 signature check,
the guard's read of the user and the tenant, one BatchGetItem the handler's own reads of them answer from, the `Me`
model) against the one read a hand-written handler could get away with: its ratio is what authentication and the
layers cost all together. `GET /auth/me vs 2 bare GetItems` gives the bare path the user and the tenant as two
eventually consistent GetItems, so its ratio and overhead are the plumbing alone: routing, JWT verification, models
and serialisation. `POST /auth/login vs 1 bare GetItem + 1 argon2id verify` sets a login against a consistent
read of the user and one `verify_password` of its stored hash. argon2id is slow by design (19 MiB, 2 passes,
set for about 40 ms per hash on one core; the bare median shows what it took here), and both sides pay it.
The login also makes four more GetItems (two rate-limit counters, the email route, the tenant) and one
TransactWriteItems (see capacity) that the bare side does not, so its plain overhead is those round trips
plus our code; the last column takes the round trips out and leaves our code (request handling, models,
signing the ES256 access token).

The `/orders` rows run as the same ADMIN on the orders its restaurant created through `POST /orders` in the
set-up. `vs 1 bare GetItem (the order)` and `vs 1 bare Query of GSI1` set a whole request against the one call
a hand-written handler would make (the bare Query has the list's key condition: sort key between "0" and "9~",
newest first, 25); the `vs 3 bare GetItems` and `vs 2 bare GetItems + the Query` rows give the bare path the
guard's user and tenant reads too (as plain GetItems; the request reads both in one BatchGetItem), so their ratio is
the plumbing alone: routing, JWT verification, and for the list 25 `Order` models validated and serialised and the
next cursor signed. These two are issue 20's request-overhead targets (at most 1.3)."""


CAPACITY = """\
Each operation runs through the real code (`Table` methods of `chalicelib.core.db.store`, the outbox's
`event_put_op`, the HTTP route through `chalice.test.Client`) a few times; the table shows the average run. Capacity is
collected by hooks on the shared clients' event systems, without changing the application:
`provide-client-params.dynamodb.*` adds `ReturnConsumedCapacity=INDEXES` and `after-call.<service>.*` reads
`ConsumedCapacity` from the parsed response and counts calls. DynamoDB Local reports `CapacityUnits` only;
they are read units for GetItem/Query and write units for Put/Update/TransactWrite. On-demand billing follows
the same rules: a read request unit is one strongly consistent read of up to 4 KB (half for eventually
consistent; a Query sums the sizes of what it read before rounding up), a write request unit is a write of up to
1 KB, every GSI the item is in (projection ALL) costs its own write, and transactions cost double. DynamoDB Local
is not the bill: confirm with CloudWatch's consumed-capacity metrics in AWS. The calls column counts AWS calls
per service, and DynamoDB's by operation; units by table / index split each into read (RCU) and write (WCU).

The `/auth` rows are HTTP requests through the app as the ADMIN signed up in the set-up (a new client address
each, for the per-IP limits). `POST /auth/login` logs in with email and password: two consistent reads of
brute-force counters (1 RCU each even when, as here, there is none: only failures write them), the email's login
route, the user (consistent) and the tenant, then one transaction that starts a session (session, refresh token,
audit entry). `POST /auth/refresh` uses up the previous run's refresh token: it counts the IP (an UpdateItem),
reads the token, its session and the user consistently, and the tenant, and rotates the token in one transaction.
`GET /auth/me` is the guard's BatchGetItem of the user and the tenant (eventually consistent), which the handler's
own reads of them answer from.
DynamoDB Local under-counts transactions of several items: in our checks one to four small Puts in one
TransactWriteItems all report 2 table units, where AWS bills 2 WCU per KB for every item. In AWS the login's
transaction should be about 10 WCU (3 items at 2 each on the table, 2 each on GSI1 and GSI2 for the audit entry)
rather than the 8 measured, and the refresh's about 6 (Update, ConditionCheck and Put at 2 each, if the
ConditionCheck is billed like a write) rather than 2.

The `/orders` rows measure what each order endpoint costs, as the same ADMIN in its restaurant (corporativo plan,
restaurant flow), which the set-up gave one product with stock and a page of orders, all through the API.
`POST /orders` (one line, 2 units): the guard's user and tenant (one BatchGetItem), the tenant again, the product,
its stock (consistent), the order workflow's current version (consistent) and the tenant a third time; the order number
(an UpdateItem); one transaction of five writes (the month's order counter, the order on GSI1 and GSI2, the
creator's own-orders entry, an audit entry, the outbox event); then it starts the order's execution: its runtime
and the order (consistent), StartExecution, and a transaction recording the execution. `GET /orders/{id}` is the
guard's BatchGetItem of the user and the tenant and the order; `GET /orders?limit=25` the guard's BatchGetItem and one
Query of GSI1. The
transition takes a fresh order every run, created and left until its execution parked on PENDING (the queue
consumers run outside the count, as Lambda would run them): the guard's reads, the order twice (the service's
read, then the engine's, consistent), the stock and the runtime (consistent); one transaction of seven writes
(the order: status, GSI2 entry, stock state; the runtime's task token; a history entry; the event; an audit entry;
the stock reservation and its movement); then SendTaskSuccess resumes the execution. The same under-counting of
transactions applies: in AWS the create's five items and the transition's seven bill 2 WCU per KB each, plus their
index entries."""


LIST_LATENCY = """\
This measures whether a page of the order list costs more when the tenant has more orders: the same `GET /orders`
against a tenant with 1 000 orders and one with 100 000 (or fewer, as the line above the table says). Two
restaurants are signed up through the API; their orders go straight into DynamoDB Local (BatchWriteItem from
spawned worker processes: through the API they would take hours, and the plan's monthly order limit would refuse
them), each item built by the real code, an `Order` whose lines `orders.totals` priced, stored as the Put of
`orders.store.new_order_ops`, so its keys, indexes and attributes are those of an order created by `POST /orders`
and moved along the restaurant flow. They are spread evenly over 90 days: the newest dozen still moving, the rest
delivered but one in 20 cancelled, one in three with a customer. Only order items are written, not their history,
runtime, audit or event items nor the creator's own-orders index, none of which the list reads. Seeding has a
budget of 3 minutes, less if the run is already past 2 minutes (it must end 5 minutes in): the large tenant is
written in ten interleaved tenths, each spread over the whole period, and seeding stops before a tenth that would
pass the budget. Each row times one request against both tenants, interleaved, end to end through the app as the
tenant's ADMIN, after a warm-up; ratio = large median / small median, so about 1 means the page does not get slower
with the tenant's size. The page 21 row follows `nextCursor` 20 times, then times the request with that cursor
(DynamoDB starts at its key; nothing before it is read again). from/to narrow GSI1's sort key (`createdAt#id`) with
BETWEEN; a status reads its own GSI2 partition. Count / ScannedCount are the page's Query as DynamoDB reported it
(one more request per row and tenant, with `ReturnConsumedCapacity`): equal means the key condition alone picks the
page and no filter reads items to throw them away. RCU is what DynamoDB Local counted for that Query (eventually
consistent, 25 orders of one to three lines)."""


PACKAGE_NOTES = """\
`pip install --no-compile --target <temp> -r requirements.txt` (from the configured index and the local pip
cache), then the sizes of the files it installed, of the application code (`app.py`, `chalicelib/`, `functions/`,
without bytecode; `vendor/`, the Swagger UI files `chalice package` puts at the zip's root) and of the two Chalice
files `chalice package` adds; the zipped size deflates all of them into one archive, as `chalice package` does.
boto3 and botocore are not counted: the Lambda runtime provides them. Size matters for cold start (the archive is
fetched and unpacked before init) and against Lambda's limits. The API's zip is the one above; each webhook function
ships its own asset (`infra/btrix_infra/packaging.py`, `asset_sources`): the modules of `functions/` and `chalicelib/`
its handler reaches through import statements (lazy ones included, `TYPE_CHECKING` ones not), their packages' data
files, the distributions they import with what those require (from the same `pip install`) except
`NOT_IN_WEBHOOK_FUNCTIONS` (babel, Jinja2, phonenumbers, httpx, the provider SDKs, …: imported lazily only on the
API's paths; a test runs every function's real deliveries in a process of its own and checks it loads none of them
and nothing its asset lacks), and Chalice's two files, zipped the same way."""


GATEWAY = """\
The set-up is the one `make run`'s demo uses (`localdev.demo_gateway.connect`): a fake Meta and a fake Bitrix24 on
loopback, the webhook functions' local server, and the bench restaurant with a WhatsApp number mapped to Open Line 1
of a portal that installed the app through that server. The ingress row calls `functions.meta.handler` in this
process with a function-URL event (payload 2.0) of a signed notification carrying one text message, a new wamid each
time, built before the timing: the function verifies `X-Hub-Signature-256` (HMAC-SHA256 with the app secret from
Secrets Manager, cached), looks the number's route up (a GetItem, then kept 30 s per container: none after the
first), records the wamid once (Powertools idempotency: a conditional PutItem, then an UpdateItem completing it),
keeps the message among its conversation's pending jobs (a PutItem) and sends its trigger to the whatsapp-inbound
FIFO queue (group = number + customer, deduplication = wamid): four AWS calls. The bare side is the last of them
alone: a SendMessage of a message of the same size to the same FIFO queue with a plain boto3 client. `compare`
alternates the two as in the request overhead table; the last column takes the AWS round trips out. The ratio is
what receiving through our function costs over the one SendMessage any webhook receiver would make. moto's
SendMessage to a FIFO queue gets slower as the queue fills (a separate check on this machine, with a standalone moto
server: about 6 ms empty, 60 ms at 500 messages, 240 ms at 2 000), so the queue is emptied every 25 iterations,
outside the timing; without that both sides slow down together and the ratio drifts towards 1.

The relay rows POST signed notifications (one message each) over HTTP to the Meta function, as Meta would, and let
the app's queue handlers relay them: find or create the conversation, the CRM contact on a customer's first message
(`crm.duplicate.findbycomm`, `crm.contact.add`), `imconnector.send.messages`, the message log, and the read receipt
to Meta. The handlers run in `localdev.worker.PartitionedQueueWorker`, limited to the gateway's two queues: one
receiver hands each message to the consumer partition of its message group (a conversation always to the same
one, in the order received), as Lambda runs one batch per message group at a time in AWS; moto's SQS alone can hand
one FIFO group to two receivers at once (SQS never does), which the partitioning keeps from reordering anything.
Latency is from just before a message's POST to the moment the fake Bitrix24 answered the
`imconnector.send.messages` that carried it; throughput is the messages over the time from the first POST to the
last arrival. In a burst, 4 threads post as fast as the function answers (each contact's messages from one thread,
in order), so later messages wait behind earlier ones: the latency is mostly queueing, and the backlog also slows
moto's SendMessage (above). The burst runs with 1, 2 and 4 consumers; the consumers are threads of one Python
process (one GIL) on a machine whose 2 CPUs also run DynamoDB Local, moto and the fakes, so more consumers gain
only while the relay waits on I/O. The one-at-a-time row posts each message once the one before it arrived: the
latency of a message on an idle gateway (its messages/s is one over that). Order kept per contact checks that each
contact's messages reached Bitrix24 in the order they were posted."""


SALES = """\
This measures whether the sales list and the sales dashboard cost more when the company has more sales, and how
fast an export writes its CSV. Two companies are signed up through the API, each with three services and two
sales reps (invited through `POST /users`, signed in through the invitation). Their sales go straight into DynamoDB
Local (BatchWriteItem from spawned worker processes; the API would take hours), each built by the real code (a
`Sale` priced by `sales.amounts`, stored as the Put of `sales.store.new_sale_ops`), spread over 90 days, four in five
completed. The dashboard's aggregates are not written by the benchmark: every sale's events (`sale.created`, and for
a completed one `sale.status_changed` to COMPLETED) go, as the EventBridge envelopes the analytics queue delivers,
through the real consumer (`analytics.service.handle_batch`, 500 records a call; records it reports failed are
handed back, as SQS would). Seeding has a budget of 4 minutes; the large company is written in ten interleaved
tenths and seeding stops before a tenth that would pass it. Each row times one request against both companies,
interleaved, end to end through the app, after a warm-up; ratio = large median / small median (about 1: the cost
does not grow with the company). The manager's page is one Query of GSI1, a rep's one Query of its own GSI3
partition, the dashboard one Query of the scope's period items plus one GetItem of its pipeline: what they read does
not depend on how many sales there are, which the Count / ScannedCount columns show. The export runs through
`POST /exports` and the slices of its job (`exports.service.run_slice`), called back to back in the benchmark's
process rather than through the queue, so the rate is the job's own: pages of the list read as the requester, CSV
rows, S3 parts of at least 5 MB."""


PAYMENTS = """\
The set-up is the one `make run`'s demo uses (`localdev.demo_payments.connect_demo_accounts`): a fake Stripe on
loopback as the bench tenant's own Stripe account (its key, and the signing secret of its webhook endpoint at
`/hooks/stripe?tenant=<id>`), and the webhook functions' local server. The ingress row calls `functions.stripe.handler`
in this process with a function-URL event (payload 2.0) of a signed `checkout.session.completed`, a new event id each
time, built before the timing: the function reads the tenant's integration (a GetItem, and KMS decrypting its
credentials for the endpoint's signing secret), verifies `Stripe-Signature` with the SDK, records the event id once
(Powertools idempotency: a conditional PutItem, then an UpdateItem completing it) and sends the message to the
integrations queue. The bare side is that last SendMessage alone, a message of the same size with a plain boto3
client; the queue is emptied every 25 iterations, outside the timing. What a tenant's own account costs over BTRIX's
platform secret is the integration's read and the KMS decrypt.

The link rows call `payments.service.create_link_for` for orders of one service: the order and the tenant read, the
order's payment state read, a Checkout Session created at the fake Stripe (form-encoded, through the SDK), and the
link, its token route, the order's payment state and an audit entry written in one transaction. Each order gets one
link (no previous link to expire). The confirmation row pays every one of those links at the fake at once (4 threads;
the fake posts each signed webhook to the function's local server and waits for its answer) while the app's
integrations-queue handler (`localdev.worker.PartitionedQueueWorker`, 2 consumers) confirms them: the event
recorded once, the payment, the order's paid claim, the link used, the receipt requested and the events written in
one transaction, then the order's `paymentStatus` and its PENDING → PAID transition (two more transactions, and
Step Functions resuming the order's execution in moto). Its latency is from the first Pay to each order found PAID
(polled every 50 ms), so it grows with the backlog; per second is the links over the time until the last one was
PAID. Local numbers: one process and 2 CPUs shared with DynamoDB Local, moto and the fake; in AWS each batch is a
Lambda invocation, so confirmations scale with the queue's concurrency.
"""


ASSISTANT = """\
`bench/assistant.py` (also `python -m bench.assistant [--quick]` alone): three WhatsApp numbers of the bench tenant
mapped to no Bitrix24 portal, one without assistant, one with the deterministic assistant, one with the LLM
assistant on the fake OpenAI-compatible server (`localdev/fake_llm.py`, zero latency, its shopper model). Each
iteration is a new customer writing `oi`, handed to the relay's job handler (`conversations.inbound.relay_inbound`)
as the conversation queue's consumer would. Bare, the relay path alone: the message recorded once with its
conversation, counters and event, the 24-hour window noted, stored (no Bitrix24 call on either side). Full,
deterministic: the same, then the assistant's turn: its configuration, the rate counter, memory and cart read,
`search_products` on the catalog, the reply (a WhatsApp list) recorded and its send job queued, the memory written.
Full, LLM: two chat completions over loopback HTTP (`search_products`, then the answer written from its result), the
answer checked against the tool's prices, the tokens counted against the plan's budget. The send jobs are drained
every 25 iterations, outside the timing. The turn is about ten more DynamoDB round trips on DynamoDB Local; what it
adds outside the round trips (our code, the fake LLM's HTTP) is the last column. A real LLM adds its own latency
per completion (up to `BTRIX_ASSISTANT_LLM_TIMEOUT_S`, then the deterministic brain answers)."""


BUDGET = """\
Each bounded row is a target of issue 20, measured in this run (ratios as in the sections below: cold start against
the floor, requests against their bare calls including the guard's reads, webhook functions against a bare
SendMessage); before is the last run before the issue's work. The relay rows have no bound: they show what more
consumer partitions give locally (see the gateway section)."""


SCALE = """\
What the loads of issue 20 would need in AWS, computed from this run's per-message and per-request costs (the
metered 1-consumer burst for WhatsApp: its AWS calls, DynamoDB units and CPU time per message; `GET /orders/{id}`'s
latency and read units for the API), against AWS's default quotas (linked; most are adjustable). Times in AWS are
assumptions: an in-region DynamoDB or SQS call 8 ms, a provider's HTTPS call (Bitrix24, Meta) 250 ms. The first quota
hit is the one with the largest share: raise it (or change the design around it) before that load. The FIFO queues
are in high-throughput mode in infra (a default-mode FIFO queue takes 300 transactions/s per API action), and the
queue consumers' maximum concurrency is `QueueDef.max_concurrency` (the conversation queue's 1 000 is also the
default account quota, so at 10 000 messages/s both must grow)."""


NOT_YET = """\
- Orders by customer (GSI3), and the list of roles that see only their own orders (a Query of the user's
  own-orders index, then a GetItem per order).
- The other transitions (PREPARING and READY touch no stock; DELIVERED consumes it, CANCELLED releases it), the
  workflow's queue consumers (park, timers), and the other capabilities' endpoints: each adds its `Comparison` in
  `bench/overhead.py` and its operations in `bench/capacity.py`.
- The gateway's other direction (an operator's message → WhatsApp, paced to 80 messages/s per number, with its
  delivery status back to Bitrix24) and media (download from Meta, S3 put, presigned URL to Bitrix24)."""


MARKETPLACE = """\
What it shows: the marketplace search reads one page of a category's index partition (a key range on GSI2, with
`q` a prefix of the sort key), so a category of 100 000 listings answers like one of 1 000; the balance is an
attribute of the account item kept by each transaction's own write, so reading it is one GetItem whatever the
number of transactions (`bench/marketplace.py`: both sides seeded by the real item builders, the balance checked
against the transactions first)."""


DELIVERY = """The fake iFood holds N PLACED events (two lines per order: one matched to the catalog by its code, one
kept as text); the ``ifood.sync`` handler runs in this process poll after poll until every event is acknowledged.
Each new order costs one order read at the fake and one DynamoDB transaction (the platform id's claim, the order, its
lists, audit and event), then its status flow's start (Step Functions, moto here). In AWS the two polls a minute run
as queue jobs; a burst bigger than one poll's share waits for the next poll, never lost (unacknowledged events come
back)."""
