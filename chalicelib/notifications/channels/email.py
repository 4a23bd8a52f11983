"""Email: Amazon SES v2 (``SendEmail`` with the function's role) or, by configuration, an SMTP server."""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core.config import get_settings
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.resources import SMTP_CREDENTIALS
from chalicelib.integrations.http import Failure, ProviderError, check_provider_url
from chalicelib.notifications.channels.base import OutgoingMessage, SendResult, read_credentials

__all__ = ["SesSender", "SmtpSender"]

# SES errors worth trying again later; anything else (MessageRejected, a bad address, an unverified sender)
# fails the message at once.
_SES_RETRYABLE = frozenset(
    {"TooManyRequestsException", "LimitExceededException", "InternalFailure", "ServiceUnavailable", "Throttling"}
)


@cache
def _ses_client(endpoint_url: str) -> Any:
    import boto3
    from botocore.config import Config

    settings = get_settings()
    # No SDK retries: a retried SendEmail could send twice; our queue retries with backoff instead.
    config = Config(
        region_name=settings.region,
        connect_timeout=settings.provider_timeout_s,
        read_timeout=settings.provider_timeout_s,
        retries={"mode": "standard", "max_attempts": 1},
    )
    extra = {"endpoint_url": endpoint_url} if endpoint_url else {}
    return boto3.session.Session().client("sesv2", config=config, **extra)  # type: ignore[call-overload]


class SesSender:
    """Amazon SES v2."""

    name = "ses"

    def send(self, message: OutgoingMessage) -> SendResult:
        """``SendEmail`` with a plain-text body, tagged with the notification id."""
        settings = get_settings()
        endpoint = check_provider_url(settings.ses_endpoint_url) if settings.ses_endpoint_url else ""
        try:
            response = _ses_client(endpoint).send_email(
                FromEmailAddress=settings.email_from,
                Destination={"ToAddresses": [message.to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": message.subject or "", "Charset": "UTF-8"},
                        "Body": {"Text": {"Data": message.body, "Charset": "UTF-8"}},
                    }
                },
                EmailTags=[{"Name": "notificationId", "Value": message.notification_id}],
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            retryable = code in _SES_RETRYABLE or status >= 500 or status == 429
            failure = Failure.RETRYABLE if retryable else Failure.REJECTED
            detail = f"SES {code}: {error.get('Message', '')}"
            raise ProviderError(detail, failure=failure, status=status or None, code=code) from exc
        except BotoCoreError as exc:
            raise ProviderError(f"SES unreachable: {exc}", failure=Failure.RETRYABLE) from exc
        return SendResult(self.name, str(response["MessageId"]))


class SmtpSender:
    """An SMTP server with STARTTLS; the login comes from the ``smtp`` secret."""

    name = "smtp"

    def send(self, message: OutgoingMessage) -> SendResult:
        """Submit the message; 4xx answers are retried, 5xx fail it."""
        import smtplib
        import ssl
        from email.message import EmailMessage
        from email.utils import make_msgid

        settings = get_settings()
        try:
            login = read_credentials(SMTP_CREDENTIALS)
        except DependencyUnavailable as exc:
            raise ProviderError(exc.detail, failure=Failure.RETRYABLE) from exc
        email = EmailMessage()
        email["From"] = settings.email_from
        email["To"] = message.to
        email["Subject"] = message.subject or ""
        message_id = make_msgid(idstring=message.notification_id)
        email["Message-ID"] = message_id
        email.set_content(message.body)
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.provider_timeout_s) as smtp:
                smtp.starttls(context=ssl.create_default_context())
                if login:
                    smtp.login(str(login["username"]), str(login["password"]))
                smtp.send_message(email)
        except smtplib.SMTPResponseException as exc:
            code = exc.smtp_code
            failure = Failure.RETRYABLE if 400 <= code < 500 else Failure.REJECTED
            raise ProviderError(f"SMTP {code}: {exc.smtp_error!r}", failure=failure, code=str(code)) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ProviderError(f"SMTP unreachable: {exc}", failure=Failure.RETRYABLE) from exc
        return SendResult(self.name, message_id.strip("<>"))
