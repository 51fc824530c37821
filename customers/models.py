"""Customers and their phone numbers (raw text as typed plus an indexed lookup key)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from customers.phones import InvalidPhoneNumber, normalize_phone
from customers.text import validate_multiline, validate_single_line


def number_key(number: str) -> str:
    """The normalized key of ``number`` (see ``normalize_phone``), or "" when it is none."""
    try:
        return normalize_phone(number) if number else ""
    except InvalidPhoneNumber:
        return ""


class Customer(models.Model):
    """A customer the agents work; has one or more :class:`PhoneNumber` rows (``phones``)."""

    # No control characters (NUL...) in stored text: admin forms and CSV import both validate.
    name = models.CharField(_("name"), max_length=200, validators=[validate_single_line])
    company = models.CharField(
        _("company"), max_length=200, blank=True, validators=[validate_single_line]
    )
    email = models.EmailField(_("email"), blank=True, validators=[validate_single_line])
    notes = models.TextField(_("notes"), blank=True, validators=[validate_multiline])
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name", "id"]
        # (name, id) is the keyset of the list page: every page is one index range scan.
        indexes = [models.Index(fields=["name", "id"], name="customer_name_id")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("customers:detail", args=[self.pk])


class PhoneNumber(models.Model):
    """One phone number of a customer: ``raw`` exactly as typed, ``normalized`` for lookup.

    ``normalized`` is ``customers.phones.normalize_phone(raw)`` (E.164, or digits only when the
    number cannot be parsed), recomputed on every save.
    """

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="phones", verbose_name=_("customer")
    )
    raw = models.CharField(_("phone number"), max_length=64)
    normalized = models.CharField(
        _("lookup key (E.164)"), max_length=32, db_index=True, editable=False
    )

    class Meta:
        verbose_name = _("phone number")
        verbose_name_plural = _("phone numbers")
        ordering = ["id"]

    def __str__(self):
        return self.raw

    def save(self, *args, **kwargs):
        """Store the normalized key; raises ``InvalidPhoneNumber`` for a malformed number."""
        self.normalized = normalize_phone(self.raw)
        super().save(*args, **kwargs)

    def clean(self):
        """Reject a malformed number with a field error that names it."""
        try:
            self.normalized = normalize_phone(self.raw)
        except InvalidPhoneNumber as exc:
            raise ValidationError({"raw": str(exc)}) from exc


class CallRecord(models.Model):
    """One phone call of an agent, inbound or outbound: the call log.

    Written by ``customers.services.log_call`` from the softphone's hooks; one row per
    (``agent``, ``contact_id``), however many events arrive and in whatever order. Times are aware
    UTC datetimes (stored UTC, shown in ``TIME_ZONE`` like every Django datetime, hence no "(UTC)"
    in the labels); ``duration`` is the talk time in whole seconds (answered to ended, 0 if the call
    was never answered); ``outcome`` follows from which times are known.
    """

    INBOUND, OUTBOUND = "inbound", "outbound"
    DIRECTIONS = [(INBOUND, _("inbound")), (OUTBOUND, _("outbound"))]

    RINGING, TALKING, COMPLETED, MISSED, NO_ANSWER = (
        "ringing",
        "talking",
        "completed",
        "missed",
        "no_answer",
    )
    OUTCOMES = [
        (RINGING, _("ringing")),
        (TALKING, _("on the call")),
        (COMPLETED, _("completed")),
        (MISSED, _("missed")),
        (NO_ANSWER, _("not answered")),
    ]

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="calls",
        verbose_name=_("agent"),
    )
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
        verbose_name=_("customer"),
    )
    direction = models.CharField(_("direction"), max_length=8, choices=DIRECTIONS)
    caller = models.CharField(_("caller number (ANI)"), max_length=64, blank=True)
    callee = models.CharField(_("callee number"), max_length=64, blank=True)
    contact_id = models.CharField(_("CCC contact id"), max_length=64)
    connid = models.CharField(_("CCC connection id"), max_length=64, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    # True once the ringing/dialing event came; until then started_at is inferred from the
    # answer or end time and may still move earlier.
    start_known = models.BooleanField(default=False, editable=False)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    duration = models.PositiveIntegerField(_("duration (s)"), default=0)
    outcome = models.CharField(_("outcome"), max_length=10, choices=OUTCOMES, default=RINGING)
    notes = models.TextField(_("wrap-up notes"), blank=True)
    # CCC's own facts, set by reconciliation (customers.reconcile) from its call detail record.
    UNCHECKED, CONFIRMED, NOT_IN_CCC = "", "confirmed", "unknown"
    CCC_STATES = [
        (UNCHECKED, _("not yet confirmed")),
        (CONFIRMED, _("confirmed by CCC")),
        (NOT_IN_CCC, _("unknown to CCC")),
    ]
    ccc_state = models.CharField(
        _("CCC"), max_length=10, choices=CCC_STATES, blank=True, default=""
    )
    ccc_checked_at = models.DateTimeField(_("checked with CCC"), null=True, blank=True)
    released_by = models.CharField(_("released by"), max_length=32, blank=True)
    release_reason = models.CharField(_("release reason"), max_length=128, blank=True)
    skill_group = models.CharField(_("skill group"), max_length=64, blank=True)
    # Normalized keys (E.164) of caller and callee, "" when not a phone number: the admin's
    # search finds a call by a number typed in any format.
    caller_key = models.CharField(max_length=32, blank=True, editable=False)
    callee_key = models.CharField(max_length=32, blank=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("call record")
        verbose_name_plural = _("call records")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "contact_id"], name="callrecord_agent_contact")
        ]
        indexes = [
            models.Index(fields=["customer", "-started_at"], name="callrecord_customer"),
            models.Index(fields=["caller_key"], name="callrecord_caller_key"),
            models.Index(fields=["callee_key"], name="callrecord_callee_key"),
        ]

    def __str__(self):
        return _("%(direction)s call %(caller)s -> %(callee)s") % {
            "direction": self.get_direction_display(),
            "caller": self.caller,
            "callee": self.callee,
        }

    def save(self, *args, **kwargs):
        self.caller_key, self.callee_key = number_key(self.caller), number_key(self.callee)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "caller_key", "callee_key"}
        super().save(*args, **kwargs)

    @property
    def remote_number(self) -> str:
        """The other party's number: the caller of an inbound call, the callee of an outbound."""
        return self.caller if self.direction == self.INBOUND else self.callee

    def settle(self) -> None:
        """Recompute ``duration`` and ``outcome`` from the three times (no save)."""
        if self.answered_at and self.ended_at:
            self.duration = max(0, round((self.ended_at - self.answered_at).total_seconds()))
        else:
            self.duration = 0
        if self.ended_at:
            if self.answered_at:
                self.outcome = self.COMPLETED
            else:
                self.outcome = self.MISSED if self.direction == self.INBOUND else self.NO_ANSWER
        else:
            self.outcome = self.TALKING if self.answered_at else self.RINGING
