"""The one exception hierarchy of the hub.

Every error the hub raises on purpose derives from :class:`HubError` (defined with the catalog's own
:class:`CatalogError` in :mod:`topics.errors`, the bottom layer, so every layer shares the one root).  Whether an
operation may be retried is a class attribute (like aiokafka's
``KafkaError.retriable``), never decided by parsing message text.  ``code`` is a
stable machine-readable identifier used in error replies, dead-letter headers and
metric labels.
"""

from __future__ import annotations

from topics.errors import CatalogError, HubError

__all__ = ["CatalogError", "HubError"]  # the root and the catalog's errors live in the bottom layer


# --- configuration -----------------------------------------------------------------
class ConfigError(HubError):
    code = "config_error"


# --- broker lifecycle --------------------------------------------------------------
class BrokerError(HubError):
    code = "broker_error"


class BrokerDistributionError(BrokerError):
    """Kafka jars could not be obtained through Maven."""

    code = "broker_distribution"
    retriable = True


class BrokerStartError(BrokerError):
    code = "broker_start"
    retriable = True


class BrokerNotRunning(BrokerError):
    code = "broker_not_running"
    retriable = True


# --- topic catalog -----------------------------------------------------------------
class TopicApplyError(CatalogError):
    code = "topic_apply"
    retriable = True


# --- schemas and the codec ---------------------------------------------------------
class SchemaError(HubError):
    """A schema file is invalid or incompatible with its previous version."""

    code = "schema_error"


class CodecError(HubError):
    """Bytes could not be turned into a message, or a message into bytes."""

    code = "codec_error"


class NotSingleObjectEncoded(CodecError):
    code = "bad_marker"


class UnknownSchemaFingerprint(CodecError):
    code = "unknown_fingerprint"

    def __init__(self, message: str, *, fingerprint: bytes | None = None) -> None:
        super().__init__(message)
        self.fingerprint = fingerprint


class CorruptPayload(CodecError):
    code = "corrupt_payload"


class EncodeError(CodecError):
    code = "encode_error"


# --- domain validation -------------------------------------------------------------
class ValidationError(HubError):
    """A value breaks a domain rule; ``field`` names the offending field."""

    code = "invalid"


class InvalidResidentId(ValidationError):
    code = "invalid_resident_id"


class InvalidCreditCode(ValidationError):
    code = "invalid_credit_code"


class InvalidCaseNumber(ValidationError):
    code = "invalid_case_number"


class InvalidAmount(ValidationError):
    code = "invalid_amount"


class InvalidCurrency(ValidationError):
    code = "invalid_currency"


class InvalidDigest(ValidationError):
    code = "invalid_digest"


class InvalidPhone(ValidationError):
    code = "invalid_phone"


class InvalidAccountNumber(ValidationError):
    code = "invalid_account_number"


# --- routing ------------------------------------------------------------------------
class RoutingError(HubError):
    code = "routing_error"


class UnknownAgency(RoutingError):
    code = "unknown_agency"


class DeliveryError(RoutingError):
    """Producing to Kafka failed; the message may be sent again."""

    code = "delivery_failed"
    retriable = True


class SendLost(DeliveryError):
    """A pipelined send was not acknowledged: this worker must not commit; a restart redelivers."""

    code = "send_lost"
    retriable = False


class NoRoute(RoutingError):
    """No flow handles this message type on this topic."""

    code = "no_route"


class WrongSender(RoutingError):
    """The envelope's sender is not the party that owns the topic it arrived on."""

    code = "wrong_sender"


# --- seals (electronic receipts, 000 §8) ------------------------------------------------
class SealError(HubError):
    code = "seal_error"


class MissingSeal(SealError):
    code = "unsigned_reply"


class InvalidSeal(SealError):
    code = "invalid_seal"


class UnknownSealKey(SealError):
    code = "unknown_seal_key"


# --- correlation -------------------------------------------------------------------------
class UnknownRequest(RoutingError):
    """A reply names a request the hub never accepted."""

    code = "unknown_request"


class WrongAgency(RoutingError):
    """A reply comes from an agency other than the one the request was addressed to."""

    code = "wrong_agency"


class RequestRefused(ValidationError):
    """The request is well-formed but a rule forbids it now (e.g. an intensive query is pending)."""

    code = "refused"


class InternalError(HubError):
    """A flow failed in a way nobody foresaw; the message is dead-lettered, never dropped."""

    code = "internal_error"


# --- police measures (SPEC §4, seed 002) -------------------------------------------------
class UnknownMeasure(RoutingError):
    """A release, sighting or lapse names a measure the hub never saw placed."""

    code = "unknown_measure"


class MeasureMismatch(ValidationError):
    """A release or sighting does not fit the measure it names (other court, case or kind)."""

    code = "measure_mismatch"


# --- dishonest-debtor list (失信被执行人名单) and consumption restriction ----------------------
class CalendarFileError(ConfigError):
    """An official holiday schedule file (``<year>.toml``) is unreadable or breaks a rule of its format."""

    code = "calendar_file"


class ListingRefused(RequestRefused):
    """A list decision breaks a rule of the 2017 provisions (the message names the article)."""

    code = "listing_refused"


class MinorNotListable(ListingRefused):
    """失信规定 art. 4: a minor may never be listed."""

    code = "minor_not_listable"


class IncompleteListingContent(ListingRefused):
    """失信规定 art. 6: the published content is missing or incomplete."""

    code = "incomplete_listing_content"


class Art3Bar(ListingRefused):
    """失信规定 art. 3: ground art. 1(一) may not be used in an art. 3 circumstance."""

    code = "art3_bar"


class RelistingBarred(ListingRefused):
    """失信规定 art. 10 last para: the creditor may not ask to re-list within 6 months of a 10(三) deletion."""

    code = "relisting_barred"


class UnknownListing(ListingRefused):
    """The decision names a listing the hub has never published (or one no longer in force)."""

    code = "unknown_listing"


class ListDigestMismatch(HubError):
    """A consumer's copy of the list does not match the digest the hub published."""

    code = "list_digest_mismatch"


class OversizeMessage(CodecError):
    """A record value larger than ``max_message_bytes``: rejected before it is decoded."""

    code = "oversize_message"
