"""The shipping providers a tenant can connect, behind one shape (``Carrier``): quote a package between two CEPs,
buy or register an order's label step by step (each step saved, so a retry resumes), say where labels stand, and
the connection test.

- MelhorEnvio sells the labels of several carriers (Correios, Jadlog, …) from one prepaid account: cart → checkout
  → generate → print, with the tenant's OAuth access token (rotating refresh token, single flight:
  ``integrations.tokens``).
- Correios' own contract API (CWS): a price and a delivery time per contract service; the label is a pre-posting
  (billed when the object is posted) whose tracking code is known at once, then its PDF (asked for, then downloaded
  by receipt, and kept: ``shipping/labels.py``); its token comes from the user and access code (no refresh token: a
  new authentication, single flight through the same ``TokenSource``).
- JadLog's Embarcador API: one freight call for every modality; the label is a shipment order (``pedido/incluir``)
  whose ``shipmentId`` is tracked (no PDF: its API has none, the label says so); a static bearer token.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from chalicelib.core import clock
from chalicelib.integrations import tokens
from chalicelib.integrations.correios import client as correios
from chalicelib.integrations.correios.credentials import CorreiosCredentials
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.http import Failure, ProviderError, TokenGrant
from chalicelib.integrations.jadlog import client as jadlog
from chalicelib.integrations.jadlog.credentials import JadLogCredentials
from chalicelib.integrations.melhorenvio import client as melhorenvio
from chalicelib.integrations.melhorenvio.credentials import MelhorEnvioCredentials
from chalicelib.integrations.parcels import LabelOrder, Package, ServiceQuote, ShippingAddress, Tracking, parcel
from chalicelib.integrations.service import load_credentials
from chalicelib.shipping import labels

__all__ = [
    "CARRIERS",
    "SHIPPING_PROVIDERS",
    "Carrier",
    "LabelOrder",
    "LabelProgress",
    "Package",
    "ServiceQuote",
    "ShippingAddress",
    "Tracking",
    "carrier",
]

T = TypeVar("T")


@dataclass(frozen=True)
class LabelProgress:
    """How far an order's label went: ``state`` (``claimed``, then the carrier's steps, ``printed`` when done) and
    what the carrier answered so far (``label_file``: the PDF BTRIX keeps; ``label_note``: why there is no PDF)."""

    state: str
    label_id: str | None = None
    label_url: str | None = None
    tracking_code: str | None = None
    label_receipt: str | None = None
    label_file: str | None = None
    label_note: str | None = None


Save = Callable[[LabelProgress], LabelProgress]


class Carrier(Protocol):
    """One shipping provider, as the shipping capability uses it."""

    provider: Provider

    def quote(self, tenant_id: str, origin: str, destination: str, packages: Sequence[Package]) -> list[ServiceQuote]:
        """Every service's price and days for the packages between two CEPs (or why a service cannot)."""
        ...

    def buy(self, tenant_id: str, order: LabelOrder, progress: LabelProgress, save: Save) -> LabelProgress:
        """Run the label's steps ``progress`` has not recorded yet, ``save``-ing each; ends ``printed``."""
        ...

    def track(self, tenant_id: str, labels: Mapping[str, str | None]) -> list[Tracking]:
        """Where each label stands (``labels``: label id → tracking code when known)."""
        ...

    def whoami(self, tenant_id: str, credentials: Any) -> str:
        """The connection test: who the provider says the credentials belong to."""
        ...


def _registered(
    progress: LabelProgress,
    save: Save,
    register: Callable[[], tuple[str, str]],
    find: Callable[[], tuple[str, str] | None],
) -> LabelProgress:
    """A label the carrier makes in one call answering (label id, tracking code), made once: ``sent`` is saved
    before the call, so a retry after an answer that never came (a timeout, a 5xx after the carrier did the work)
    first ``find``-s the label made for our reference and adopts it instead of making a second one."""
    if progress.label_id is not None:
        return progress
    if progress.state == "sent":
        found = find()
        if found is not None:
            return save(replace(progress, label_id=found[0], tracking_code=found[1], state="registered"))
    else:
        progress = save(replace(progress, state="sent"))
    label_id, code = register()
    return save(replace(progress, label_id=label_id, tracking_code=code, state="registered"))


# --- MelhorEnvio ----------------------------------------------------------------------------------------------------

# An access token that came with the credentials: its real expiry is unknown (MelhorEnvio's live 30 days); it is
# used until it answers 401, then refreshed.
_INITIAL_LIFETIME = timedelta(days=1)


def _initial(credentials: MelhorEnvioCredentials) -> TokenGrant | None:
    if credentials.access_token is None:
        return None
    return TokenGrant(credentials.access_token.get_secret_value(), clock.now() + _INITIAL_LIFETIME)


class _MelhorEnvio:
    provider = Provider.MELHORENVIO
    token_source = tokens.TokenSource(
        Provider.MELHORENVIO,
        "MelhorEnvio",
        melhorenvio.refresh_access_token,
        lambda credentials: credentials.refresh_token.get_secret_value(),
        rotates=True,
        initial=_initial,
    )

    def _with_token(self, tenant_id: str, call: Callable[[MelhorEnvioCredentials, str], T]) -> T:
        return tokens.with_access_token(tenant_id, self.token_source, call)

    def quote(self, tenant_id: str, origin: str, destination: str, packages: Sequence[Package]) -> list[ServiceQuote]:
        return self._with_token(
            tenant_id, lambda creds, token: melhorenvio.calculate(creds, token, origin, destination, packages)
        )

    def _cart(self, tenant_id: str, order: LabelOrder) -> str:
        box = parcel(order.packages)
        products = [
            {"name": name, "quantity": quantity, "unitary_value": float(value)}
            for name, quantity, value in order.contents()
        ]
        volume = {"height": box.height_cm, "width": box.width_cm, "length": box.length_cm}
        return self._with_token(
            tenant_id,
            lambda creds, token: melhorenvio.add_to_cart(
                creds,
                token,
                service_id=int(order.service_id),
                sender=order.sender,
                recipient=order.recipient,
                products=products,
                volumes=[{**volume, "weight": float(box.weight_kg)}],
                insurance_value=box.declared_value,
                tag=order.reference,
            ),
        )

    def buy(self, tenant_id: str, order: LabelOrder, progress: LabelProgress, save: Save) -> LabelProgress:
        """Cart → checkout (paid from the balance) → generate → print. A checkout whose answer was lost is
        recognised: MelhorEnvio refuses to pay it twice, and the tracking says it was paid."""
        if progress.label_id is None:
            progress = save(replace(progress, label_id=self._cart(tenant_id, order), state="carted"))
        label_id = progress.label_id
        assert label_id is not None
        if progress.state == "carted":
            try:
                self._with_token(tenant_id, lambda creds, token: melhorenvio.checkout(creds, token, [label_id]))
            except ProviderError as exc:
                if exc.retryable or exc.fatal:
                    raise
                status = next((t.status for t in self.track(tenant_id, {label_id: None})), "pending")
                if status == "pending":
                    raise
            progress = save(replace(progress, state="bought"))
        self._with_token(tenant_id, lambda creds, token: melhorenvio.generate(creds, token, [label_id]))
        url = self._with_token(tenant_id, lambda creds, token: melhorenvio.print_labels(creds, token, [label_id]))
        return save(replace(progress, label_url=url, state="printed"))

    def track(self, tenant_id: str, labels: Mapping[str, str | None]) -> list[Tracking]:
        return self._with_token(tenant_id, lambda creds, token: melhorenvio.track(creds, token, list(labels)))

    def whoami(self, tenant_id: str, credentials: Any) -> str:
        return self._with_token(tenant_id, melhorenvio.account)


# --- Correios -------------------------------------------------------------------------------------------------------

# Correios makes a label PDF in a few seconds: the download is tried at once, then after these waits; still not made,
# the purchase fails retryable and its retry resumes at the download.
_LABEL_WAITS_S = (0.5, 1.0, 1.5)


class _Correios:
    provider = Provider.CORREIOS
    token_source = tokens.TokenSource(
        Provider.CORREIOS, "Correios", lambda credentials, _: correios.authenticate(credentials), lambda _: ""
    )

    def _with_token(self, tenant_id: str, call: Callable[[CorreiosCredentials, str], T]) -> T:
        return tokens.with_access_token(tenant_id, self.token_source, call)

    def quote(self, tenant_id: str, origin: str, destination: str, packages: Sequence[Package]) -> list[ServiceQuote]:
        box = parcel(packages)
        return self._with_token(tenant_id, lambda creds, token: correios.quote(creds, token, origin, destination, box))

    def buy(self, tenant_id: str, order: LabelOrder, progress: LabelProgress, save: Save) -> LabelProgress:
        """A pre-posting (its id is the label's, its object code the tracking code), then its PDF: asked for (the
        receipt saved), downloaded and kept; a retry resumes at the step that failed."""
        progress = _registered(
            progress,
            save,
            lambda: self._with_token(tenant_id, lambda creds, token: correios.preregister(creds, token, order)),
            lambda: self._with_token(
                tenant_id,
                lambda creds, token: correios.find_preposting(creds, token, order.reference, order.started_at),
            ),
        )
        if progress.label_file is None:
            receipt, pre_id = progress.label_receipt, progress.label_id
            assert pre_id is not None
            if receipt is None:
                receipt = self._with_token(tenant_id, lambda creds, token: correios.request_label(creds, token, pre_id))
                progress = save(replace(progress, label_receipt=receipt, state="pdf-requested"))
            pdf = self._download(tenant_id, receipt)
            progress = save(replace(progress, label_file=labels.store_label(tenant_id, order.order_id, pdf)))
        return save(replace(progress, state="printed"))

    def _download(self, tenant_id: str, receipt: str) -> bytes:
        for wait in (0.0, *_LABEL_WAITS_S):
            time.sleep(wait)
            pdf = self._with_token(tenant_id, lambda creds, token: correios.download_label(creds, token, receipt))
            if pdf is not None:
                return pdf
        detail = "Correios is still making the label PDF: retry the purchase in a moment"
        raise ProviderError(detail, failure=Failure.RETRYABLE)

    def track(self, tenant_id: str, labels: Mapping[str, str | None]) -> list[Tracking]:
        codes = {code: label_id for label_id, code in labels.items() if code}
        if not codes:
            return []
        return self._with_token(tenant_id, lambda creds, token: correios.track(creds, token, codes))

    def whoami(self, tenant_id: str, credentials: Any) -> str:
        return correios.whoami(credentials)


# --- JadLog ---------------------------------------------------------------------------------------------------------


class _JadLog:
    provider = Provider.JADLOG

    @staticmethod
    def _credentials(tenant_id: str) -> JadLogCredentials:
        credentials = load_credentials(tenant_id, Provider.JADLOG)
        assert isinstance(credentials, JadLogCredentials)
        return credentials

    def quote(self, tenant_id: str, origin: str, destination: str, packages: Sequence[Package]) -> list[ServiceQuote]:
        return jadlog.quote(self._credentials(tenant_id), origin, destination, parcel(packages))

    def buy(self, tenant_id: str, order: LabelOrder, progress: LabelProgress, save: Save) -> LabelProgress:
        """One shipment order: JadLog's order code is the label's id, its ``shipmentId`` the tracking code."""
        progress = _registered(
            progress,
            save,
            lambda: jadlog.include_order(self._credentials(tenant_id), order),
            lambda: jadlog.find_order(self._credentials(tenant_id), order.reference),
        )
        note = f"JadLog's API gives no label PDF: print the label of order {progress.label_id} in JadLog's panel"
        return save(replace(progress, label_note=note, state="printed"))

    def track(self, tenant_id: str, labels: Mapping[str, str | None]) -> list[Tracking]:
        shipments = {code: label_id for label_id, code in labels.items() if code}
        return jadlog.track(self._credentials(tenant_id), shipments)

    def whoami(self, tenant_id: str, credentials: Any) -> str:
        return jadlog.whoami(credentials)


CARRIERS: dict[Provider, Carrier] = {carrier.provider: carrier for carrier in (_MelhorEnvio(), _Correios(), _JadLog())}
SHIPPING_PROVIDERS: tuple[Provider, ...] = tuple(CARRIERS)


def carrier(provider: Provider) -> Carrier:
    """The carrier of a shipping provider."""
    return CARRIERS[provider]
