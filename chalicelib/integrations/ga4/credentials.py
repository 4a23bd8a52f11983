"""The credentials a tenant gives to connect Google Analytics 4: the schema they are validated with, and what of them
may be shown."""

from __future__ import annotations

from pydantic import Field, SecretStr

from chalicelib.integrations.credentials import Credentials

__all__ = ["Ga4Credentials"]


class Ga4Credentials(Credentials):
    """A Google Analytics 4 web data stream: its measurement id and a Measurement Protocol API secret (Admin > Data
    streams > the stream > Measurement Protocol API secrets)."""

    measurement_id: str = Field(
        pattern=r"^G-[A-Z0-9]{4,20}$", description="The stream's measurement id, e.g. G-1A2B3C4D5E"
    )
    api_secret: SecretStr = Field(min_length=8, max_length=200)

    def summary(self) -> dict[str, str]:
        """The measurement id."""
        return {"measurementId": self.measurement_id}
