"""The benchmark's loader: set-based SQL into the migrated schema of the scratch database only.

``manage.py benchmark`` creates its own database (``<NAME>_bench``) and drops it at the end;
nothing here may ever run against a real one (``Loader`` refuses a database whose name does
not end in ``_bench`` and is not a test database). History and logs are append-only and tracked models are otherwise
written only through the audit services: this module is the one exception the project allows
(design.md, common rules), because building 10M history rows through the ORM would take hours.

What it writes per subject, in the proportions of issue 15 (1M subjects: 1.5M addresses, 10M
subject history rows, 11.5M trail entries, 20M access events, 2M consents, 50k requests, 3k
disclosures): 1.5 addresses, 10 subject history rows and one per address, one trail entry per
history row, 20 access events, 2 consents with their ledger events (a grant each, a withdrawal
for 15 %), 1 request per 20 subjects and 3 sent disclosures per 1000 subjects (5 subjects each).

No digests are written for these rows (tamper evidence is a keyed MAC computed in Python per
row; computing millions of them would be most of the build, and writing them in SQL would copy
the MAC's encoding). ``verify_audit`` is therefore measured on rows written through the real
audited path before this loader runs (measures.py says how).

Values are what the application stores: account ids ``SX`` + 10 digits, phones in E.164
(``+99890…``), e-mails lower-cased, statuses of the model's choices. Every column of a model
that the loader does not name gets the field's constant default, NULL or an empty string;
a new mandatory column without a default stops the loader with its name (so a model change
made elsewhere is noticed here, not papered over).
"""

import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection, models
from django.utils import timezone

from shipex_privacy.audit.models import AccessEvent, TrailEntry
from shipex_privacy.audit.partitions import make_month_partitions
from shipex_privacy.catalogue.models import PersonalDataField, Purpose
from shipex_privacy.consents.figures import fill_from_ledger
from shipex_privacy.consents.models import Consent, ConsentEvent, PolicyVersion
from shipex_privacy.core.names import name_search_key
from shipex_privacy.core.testdb import is_test_database_name
from shipex_privacy.disclosures.models import DisclosedSubject, Disclosure, Recipient
from shipex_privacy.rights_requests.models import SubjectRequest
from shipex_privacy.subjects.models import Address, DataSubject

FIRST_ACCOUNT = 1_000_000_000  # bulk subjects are SX1000000001 and up (the intake's are SX9…)
NAMES = ("Aziza Karimova", "Bekzod Tursunov", "Dilnoza Rahimova", "Jasur Aliyev", "Madina Yusupova",
         "Otabek Ergashev", "Nilufar Sodiqova", "Sardor Qodirov")
REGIONS = ("Toshkent shahri", "Samarqand viloyati", "Fargʻona viloyati", "Buxoro viloyati", "Andijon viloyati")
CITIES = ("Yunusobod tumani", "Chilonzor tumani", "Mirzo Ulugʻbek tumani", "Shayxontohur tumani")
STAFF = ("agent1", "agent2", "agent3", "officer1", "auditor1")
# Expired closed subjects (their retention clock started long ago): one in EXPIRED_SHARE of a size
# step, at most EXPIRED_PER_STEP. apply_retention is measured on them, once per size: 2,500 subjects
# with their 3,750 addresses at 100k, enough records that the run's fixed costs (counting, the run's
# own rows) weigh as they do in a real run rather than as much as the records themselves.
EXPIRED_SHARE = 40
EXPIRED_PER_STEP = 2500


@dataclass
class Counts:
    """Rows the loader wrote, by table (cumulative over the steps)."""

    rows: dict[str, int] = field(default_factory=dict)

    def add(self, model, count: int) -> None:
        name = model._meta.label
        self.rows[name] = self.rows.get(name, 0) + count


def history(model):
    return model.history.model


class Dialect:
    """The few SQL pieces that differ between PostgreSQL and SQLite."""

    def __init__(self, vendor: str):
        self.pg = vendor == "postgresql"

    def series(self, alias: str, low: int, high: int) -> tuple[str, str]:
        """(a WITH entry or "", a FROM item) giving ``alias.n`` = low … high."""
        if self.pg:
            return "", f"generate_series({int(low)}, {int(high)}) AS {alias}(n)"
        # Names and numbers of this module's own, never input.
        cte = f"{alias}(n) AS (SELECT {int(low)} UNION ALL SELECT n + 1 FROM {alias} WHERE n < {int(high)})"  # noqa: S608
        return cte, alias

    def ago(self, seconds: str) -> str:
        """The moment ``seconds`` (an SQL integer expression) before the base moment %s."""
        if self.pg:
            return f"(%s::timestamptz - ({seconds}) * interval '1 second')"
        return f"datetime(%s, '-' || ({seconds}) || ' seconds')"

    def days_ago(self, days: str) -> str:
        """The date ``days`` before the base date %s."""
        if self.pg:
            return f"(%s::date - ({days})::int)"
        return f"date(%s, '-' || ({days}) || ' days')"

    def after(self, column: str, seconds: str) -> str:
        if self.pg:
            return f"({column} + ({seconds}) * interval '1 second')"
        return f"datetime({column}, '+' || ({seconds}) || ' seconds')"

    def text(self, expression: str) -> str:
        return f"CAST({expression} AS {'text' if self.pg else 'TEXT'})"

    def moment(self, value: datetime) -> str:
        value = value.astimezone(UTC)
        return value.isoformat() if self.pg else value.strftime("%Y-%m-%d %H:%M:%S")


def pick(expression: str, values) -> tuple[str, list]:
    """CASE over ``expression`` modulo len(values): SQL and its parameters."""
    whens = " ".join(f"WHEN {i} THEN %s" for i in range(len(values)))
    return f"(CASE ({expression}) %% {len(values)} {whens} END)", list(values)


class Loader:
    """Grows the scratch database to a number of bulk subjects, step by step (100k, then 1M)."""

    def __init__(self, *, progress: Callable[[str], None] | None = None, now: datetime | None = None):
        name = str(connection.settings_dict["NAME"])
        if not (name.endswith("_bench") or is_test_database_name(connection.vendor, name)):
            raise RuntimeError(f"The benchmark loader writes only into its scratch database (*_bench) or a test "
                               f"database, not {name}.")
        self.sql = Dialect(connection.vendor)
        self.progress = progress or (lambda text: None)
        self.now = (now or timezone.now()).replace(microsecond=0)
        self.subjects = 0  # bulk subjects written so far
        self.counts = Counts()
        self.expired_subject_ids: list[int] = []  # closed long ago, data still held: retention's work

    # --- the generic INSERT … SELECT ----------------------------------------------------------------

    def insert(self, model, values: dict[str, tuple[str, list] | str], *, source: str, withs=(), params=(),
               label: str = "") -> int:
        """INSERT INTO model's table (columns) SELECT values FROM source; the rows written.

        ``values`` maps field names to an SQL expression (with its parameters); every other
        concrete column gets the field's constant default, NULL, or "" (see the module's doc).
        """
        columns, expressions, arguments = [], [], []
        for model_field in model._meta.concrete_fields:
            if model_field.primary_key and model_field.name not in values:
                continue
            name = model_field.name if model_field.name in values else model_field.attname
            if name in values:
                expression = values[name]
                sql, more = (expression, []) if isinstance(expression, str) else expression
            else:
                sql, more = self.filler(model, model_field)
            columns.append(connection.ops.quote_name(model_field.column))
            expressions.append(sql)
            arguments += more
        unknown = set(values) - {f.name for f in model._meta.concrete_fields} - {
            f.attname for f in model._meta.concrete_fields}
        if unknown:
            raise RuntimeError(f"{model._meta.label} has no field {sorted(unknown)}")
        with_sql = f"WITH RECURSIVE {', '.join(withs)} " if any(withs) else ""
        # Table and column names come from the models, expressions from this module; values are parameters.
        table = connection.ops.quote_name(model._meta.db_table)
        statement = f"{with_sql}INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(expressions)} FROM {source}"  # noqa: S608, E501
        with connection.cursor() as cursor:
            cursor.execute(statement, [*arguments, *params])
            written = cursor.rowcount
        self.counts.add(model, written)
        self.progress(f"  {label or model._meta.label}: {written} rows")
        return written

    def filler(self, model, model_field) -> tuple[str, list]:
        default = model_field.default
        if default is not models.NOT_PROVIDED:
            if callable(default):
                produced = default()
                if isinstance(produced, datetime):
                    return "%s", [self.sql.moment(self.now)]
                if isinstance(produced, list | dict):
                    cast = "CAST(%s AS jsonb)" if self.sql.pg else "%s"
                    return cast, ["[]" if isinstance(produced, list) else "{}"]
                raise RuntimeError(f"{model._meta.label}.{model_field.name}: the loader cannot fill a callable "
                                   "default; give it a value in scratch.py")
            return "%s", [model_field.get_db_prep_value(default, connection)]
        if model_field.null:
            return "NULL", []
        if isinstance(model_field, models.CharField | models.TextField):
            return "''", []
        raise RuntimeError(f"{model._meta.label}.{model_field.name} is mandatory and has no default: "
                           "give it a value in scratch.py")

    def id_range(self, model, **filters) -> tuple[int, int]:
        """First and last id of rows just written; they must be contiguous (one INSERT, no one else writing)."""
        found = model._base_manager.filter(**filters).aggregate(low=models.Min("pk"), high=models.Max("pk"),
                                                                count=models.Count("pk"))
        if found["count"] and found["high"] - found["low"] + 1 != found["count"]:
            raise RuntimeError(f"{model._meta.label}: the ids written are not contiguous")
        return found["low"], found["high"]

    # --- one step -------------------------------------------------------------------------------------

    def grow(self, to: int, *, consents_only: bool = False) -> Counts:
        """Add bulk subjects (and everything that comes with them) until there are ``to``.

        ``consents_only``: the subjects and their consents (with ledger and figures), nothing else —
        what a read of a subject's consents touches (benchmark_intake), a fraction of the full load.
        """
        if to <= self.subjects:
            return self.counts
        low, high = self.subjects + 1, to
        step = high - low + 1
        self.progress(f"Loading subjects {low}–{high} with set-based SQL …")
        self.setup()
        with self.indexes_set_aside():
            first_subject, last_subject = self.load_subjects(low, high)
            if not consents_only:
                self.load_addresses(first_subject, last_subject)
                self.load_subject_history(first_subject, last_subject)
                self.load_access_events(first_subject, step)
            self.load_consents(first_subject, step)
            if not consents_only:
                self.load_requests(first_subject, step)
                self.load_disclosures(first_subject, step)
        self.subjects = to
        self.analyze()
        return self.counts

    def setup(self) -> None:
        """What the rows point at: the consent purposes, a published policy version, recipients, fields."""
        if hasattr(self, "purposes"):
            return
        self.purposes = list(Purpose.objects.filter(requires_consent=True).order_by("clause").values_list(
            "pk", flat=True)[:2])
        if not self.purposes:
            raise RuntimeError("The seeded catalogue has no purpose that rests on consent.")
        self.all_purposes = list(Purpose.objects.order_by("clause").values_list("pk", flat=True))
        self.fields = list(PersonalDataField.objects.exclude(binding="").order_by("code").values_list(
            "pk", flat=True)[:6])
        version = PolicyVersion.objects.published().order_by("-effective_date").first()
        if version is None:
            from shipex_privacy.audit.events import AuditEvent, SystemActor
            from shipex_privacy.audit.services import record_save
            from shipex_privacy.consents.services import policy_publish

            actor = SystemActor("benchmark")
            version = PolicyVersion(version="bench.1", effective_date=(self.now - timedelta(days=900)).date(),
                                    text_uz="Siyosat", text_ru="Политика", text_en="Policy")
            record_save(instance=version, actor=actor, reason="Benchmark", event=AuditEvent.POLICY_PUBLISHED)
            version = policy_publish(version=version, actor=actor)
        self.policy_version = version.pk
        recipients = []
        for n, kind in enumerate(("processor", "state_authority", "processor", "research_partner")):
            recipients.append(Recipient.objects.filter(legal_name=f"Benchmark recipient {n}").first())
            if recipients[-1] is None:
                from shipex_privacy.audit.events import AuditEvent, SystemActor
                from shipex_privacy.audit.services import record_save

                recipient = Recipient(legal_name=f"Benchmark recipient {n}", tin=f"{300000000 + n}", kind=kind)
                record_save(instance=recipient, actor=SystemActor("benchmark"), reason="Benchmark",
                            event=AuditEvent.EDITED)
                recipients[-1] = recipient
        self.recipients = [recipient.pk for recipient in recipients]

    def load_subjects(self, low: int, high: int) -> tuple[int, int]:
        sql, now = self.sql, self.sql.moment(self.now)
        n = "g.n"
        status = (f"(CASE WHEN {n} %% 100 < 90 THEN 'active' WHEN {n} %% 100 < 95 THEN 'logged_out' "
                  f"ELSE 'closed' END)")
        with_, source = sql.series("g", low, high)
        step = high - low + 1
        expired = min(EXPIRED_PER_STEP, max(1, step // EXPIRED_SHARE))
        # The first ``expired`` subjects of the step closed their account 30 years ago: past any rule.
        old = f"({n} - {low} < {expired})"
        self.insert(DataSubject, {
            "account_id": (f"'SX' || {sql.text(f'{FIRST_ACCOUNT} + {n}')}", []),
            "full_name": pick(n, NAMES),
            # The column the model's field sets on every write (NameSearchKeyField): same CASE, its keys.
            "name_key": pick(n, [name_search_key(name) for name in NAMES]),
            "phone": (f"'+99890' || {sql.text(f'1000000 + {n} %% 9000000')}", []),
            "email": (f"'user' || {sql.text(n)} || '@mail.uz'", []),
            "pinfl": (sql.text(f"30000000000000 + {n}"), []),
            "passport": (f"'AA' || {sql.text(f'1000000 + {n} %% 9000000')}", []),
            "birth_date": (sql.days_ago(f"7000 + {n} %% 15000"), [now]),
            "preferred_language": pick(f"{n} / 7", ("uz", "uz", "ru", "en")),
            "status": (f"(CASE WHEN {old} THEN 'closed' ELSE {status} END)", []),
            "status_changed_at": (f"(CASE WHEN {old} THEN {sql.ago(str(30 * 365 * 86400))} "
                                  f"WHEN {n} %% 100 >= 90 THEN {sql.ago(f'{n} %% 86400 * 3')} END)", [now, now]),
            "registered_at": (f"(CASE WHEN {old} THEN {sql.ago(str(31 * 365 * 86400))} "
                              # spread over 3 years (n seconds alone put every subject in the last days)
                              f"ELSE {sql.ago(f'({n} %% 94608) * 1000 + {n} %% 997')} END)", [now, now]),
        }, source=source, withs=[with_], label="subjects")
        accounts = [f"SX{FIRST_ACCOUNT + low}", f"SX{FIRST_ACCOUNT + high}"]
        first, last = self.id_range(DataSubject, account_id__gte=accounts[0], account_id__lte=accounts[1])
        self.expired_subject_ids += list(range(first, first + expired))
        return first, last

    def load_addresses(self, first: int, last: int) -> None:
        sql = self.sql
        # Every subject a home address; every other one a work address too: 1.5 per subject.
        for kind, condition in (("home", ""), ("work", " AND s.id %% 2 = 0")):
            self.insert(Address, {
                "subject": "s.id", "kind": (f"'{kind}'", []),
                "region": pick("s.id", REGIONS), "city": pick("s.id / 5", CITIES),
                "street": (f"'Amir Temur koʻchasi ' || {sql.text('s.id %% 200 + 1')}", []),
                "postal_code": ("'100084'", []), "created_at": "s.registered_at",
            }, source=f"{qn(DataSubject._meta.db_table)} s WHERE s.id BETWEEN %s AND %s{condition}",
                params=[first, last], label=f"{kind} addresses")

    def load_subject_history(self, first: int, last: int) -> None:
        sql, now = self.sql, self.sql.moment(self.now)
        subject_history = history(DataSubject)
        before = subject_history.objects.aggregate(top=models.Max("pk"))["top"] or 0
        with_, source = sql.series("k", 1, 10)
        copied = {f.attname: f"s.{qn(f.column)}" for f in DataSubject._meta.concrete_fields}
        self.insert(subject_history, {
            **copied,
            "history_date": (f"(CASE WHEN k.n = 1 THEN s.registered_at "
                             f"ELSE {sql.ago('(10 - k.n) * 86400 + s.id %% 86400')} END)", [now]),
            "history_change_reason": pick("k.n", ("Registered in the ShipEx app", "Imported from the ShipEx app",
                                                  "Subject asked to correct the address")),
            "history_type": ("(CASE WHEN k.n = 1 THEN '+' ELSE '~' END)", []),
            "history_user_id": ("(CASE WHEN k.n = 1 THEN NULL ELSE 1 + s.id %% 5 END)", []),
            "history_username": pick("s.id", STAFF),
            "history_ip": ("'10.0.0.7'", []),
        }, source=f"{qn(DataSubject._meta.db_table)} s CROSS JOIN {source} WHERE s.id BETWEEN %s AND %s",
            withs=[with_], params=[first, last], label="subject history (10 per subject)")
        address_history = history(Address)
        address_before = address_history.objects.aggregate(top=models.Max("pk"))["top"] or 0
        copied = {f.attname: f"a.{qn(f.column)}" for f in Address._meta.concrete_fields}
        self.insert(address_history, {
            **copied, "history_date": "a.created_at", "history_change_reason": ("'Registered in the ShipEx app'", []),
            "history_type": ("'+'", []), "history_username": ("''", []), "history_ip": ("'10.0.0.7'", []),
        }, source=f"{qn(Address._meta.db_table)} a WHERE a.subject_id BETWEEN %s AND %s", params=[first, last],
            label="address history")
        for model, alias, after, subject in ((subject_history, "h", before, "h.id"),
                                             (address_history, "h", address_before, "h.subject_id")):
            self.insert(TrailEntry, {
                "at": "h.history_date", "user_id": "h.history_user_id", "username": "h.history_username",
                "action": "h.history_type", "model": (f"'{model.instance_type._meta.label_lower}'", []),
                "object_id": sql.text("h.id"), "subject_id": subject, "reason": "h.history_change_reason",
                "ip": "h.history_ip", "history_table": (f"'{model._meta.db_table}'", []),
                "history_id": "h.history_id",
            }, source=f"{qn(model._meta.db_table)} {alias} WHERE {alias}.history_id > %s", params=[after],
                label=f"trail entries ({model._meta.model_name})")

    def load_access_events(self, first: int, count: int) -> None:
        sql, now = self.sql, self.sql.moment(self.now)
        with_s, subjects = sql.series("s", 0, count - 1)
        with_k, per = sql.series("k", 1, 20)
        # Within the last 90 days, each in its month's partition on PostgreSQL (issue 15): the scratch
        # database is the owner's, which may make past months (the app role's rows would go to DEFAULT).
        make_month_partitions([(self.now - timedelta(days=days)).astimezone(UTC).date().replace(day=1)
                               for days in range(0, 91, 15)])
        self.insert(AccessEvent, {
            "at": (sql.ago("(s.n * 20 + k.n) %% 7776000"), [now]),
            "user_id": ("1 + (s.n + k.n) %% 5", []), "username": pick("s.n + k.n", STAFF),
            "action": pick("k.n", ("subject.view", "subject.view", "subject.search", "subject.history",
                                   "subject.consents")),
            "object_type": ("'subjects.datasubject'", []), "object_id": sql.text(f"{first} + s.n"),
            "subject_id": (f"{first} + s.n", []), "ip": ("'10.0.0.7'", []),
            "user_agent": ("'Mozilla/5.0 (X11; Linux x86_64)'", []),
        }, source=f"{subjects} CROSS JOIN {per}", withs=[with_s, with_k], label="access events (20 per subject)")

    def load_consents(self, first: int, count: int) -> None:
        sql = self.sql
        before = Consent.objects.aggregate(top=models.Max("pk"))["top"] or 0
        with_s, subjects = sql.series("s", 0, count - 1)
        with_p, purposes = sql.series("p", 0, 1)
        consent_count = count * 2
        c = "(s.n * 2 + p.n)"
        withdrawn = f"({c} %% 100 < 15)"
        granted = sql.after("d.registered_at", f"{c} %% 2592000")
        self.insert(Consent, {
            "subject": (f"{first} + s.n", []),
            "purpose": (f"(CASE p.n WHEN 0 THEN {self.purposes[0]} ELSE {self.purposes[-1]} END)", []),
            # With one consent purpose only, the second consent is to disclosure to processors (1.4.3.1).
            "recipient_kind": ("''" if len(self.purposes) > 1 else "(CASE p.n WHEN 0 THEN '' ELSE 'processor' END)",
                               []),
            "state": (f"(CASE WHEN {withdrawn} THEN 'withdrawn' ELSE 'granted' END)", []),
            "channel": pick(c, ("app", "app", "web", "office")),
            "granted_at": granted,
            "withdrawn_at": (f"(CASE WHEN {withdrawn} THEN {sql.after(granted, '86400 * 40')} END)", []),
        }, source=f"{subjects} CROSS JOIN {purposes} JOIN {qn(DataSubject._meta.db_table)} d ON d.id = {first} + s.n",
            withs=[with_s, with_p], label="consents (2 per subject)")
        low, high = self.id_range(Consent, pk__gt=before)
        if high - low + 1 != consent_count:
            raise RuntimeError("consents: not the number asked for")
        for kind, moment, condition in (
            ("grant", "c.granted_at", ""),
            ("withdraw", "c.withdrawn_at", " AND c.withdrawn_at IS NOT NULL"),
        ):
            self.insert(ConsentEvent, {
                "consent": "c.id", "kind": (f"'{kind}'", []), "occurred_at": moment, "recorded_at": moment,
                "channel": "c.channel", "ip_address": ("'10.0.0.9'", []), "user_agent": ("'ShipEx/5.0'", []),
                "evidence_reference": (f"'app-' || {sql.text('c.id')}", []),
                "policy_version": (str(self.policy_version) if kind == "grant" else "NULL", []),
                "recorded_by_username": ("'benchmark'", []),
            }, source=f"{qn(Consent._meta.db_table)} c WHERE c.id BETWEEN %s AND %s{condition}",
                params=[low, high], label=f"consent events ({kind})")
        # The consent report's figures, as the ledger writes would have kept them (consents/figures.py):
        # the new consents' ledgers in one set-based pass.
        started = time.monotonic()
        fill_from_ledger(consent_range=(low, high), now=self.now)
        self.progress(f"  consent figures in {time.monotonic() - started:.1f} s")

    def load_requests(self, first: int, count: int) -> None:
        sql, now = self.sql, self.sql.moment(self.now)
        requests = max(1, count // 20)
        with_, source = sql.series("r", 0, requests - 1)
        closed = "(r.n %% 10 >= 3)"  # 70 % closed, 30 % open
        received = sql.ago("r.n * 997 %% 63072000")  # within two years
        status = ("(CASE WHEN r.n %% 10 = 0 THEN 'new' WHEN r.n %% 10 = 1 THEN 'verifying' "
                  "WHEN r.n %% 10 = 2 THEN 'in_progress' WHEN r.n %% 10 = 9 THEN 'refused' ELSE 'done' END)")
        verified = "(r.n %% 10 >= 2)"
        self.insert(SubjectRequest, {
            "kind": pick("r.n", [value for value, _label in SubjectRequest.Kind.choices]),
            "channel": pick("r.n / 3", ("app", "web", "email", "phone", "office")),
            "received_at": (received, [now]),
            "requester_name": pick("r.n", NAMES),
            "requester_contact": (f"'+99890' || {sql.text(f'1000000 + ({first} + r.n * 20) %% 9000000')}", []),
            "details": ("'Please send me a copy of my data.'", []),
            "subject": (f"{first} + r.n * 20 %% {count}", []),
            "identity_method": (f"(CASE WHEN {verified} THEN 'sms_code' ELSE '' END)", []),
            "identity_verified_at": (f"(CASE WHEN {verified} THEN {sql.after(received, '3600')} END)", [now]),
            "status": (status, []),
            "due_at": (sql.after(received, "30 * 86400"), [now]),
            "response_text": (f"(CASE WHEN {closed} THEN 'Your data is attached.' ELSE '' END)", []),
            "closed_at": (f"(CASE WHEN {closed} THEN {sql.after(received, '(1 + r.n %% 40) * 86400')} END)", [now]),
            "created_at": (received, [now]),
        }, source=source, withs=[with_], label="requests (1 per 20 subjects)")

    def load_disclosures(self, first: int, count: int) -> None:
        sql, now = self.sql, self.sql.moment(self.now)
        disclosures = max(1, count * 3 // 1000)
        before = Disclosure.objects.aggregate(top=models.Max("pk"))["top"] or 0
        with_, source = sql.series("d", 0, disclosures - 1)
        sent = sql.ago("d.n * 7919 %% 63072000")
        # Written unsent, given their fields and subjects, then sent: a sent disclosure is frozen
        # with its parts (core/freeze.py), so the parts must be there first.
        self.insert(Disclosure, {
            "recipient": pick("d.n", self.recipients),
            "ground": ("'1.4.3.2'", []),
            "purpose": pick("d.n / 4", self.all_purposes),
            "delivery_method": pick("d.n", ("sftp", "api", "secure_email")),
            "record_count": ("5", []),
            "status": ("'approved'", []),
            "created_by_id": ("1", []), "created_by_username": ("'agent1'", []),
            "approved_by_id": ("4", []), "approved_by_username": ("'officer1'", []),
            "approved_at": (sent, [now]),
            "created_at": (sent, [now]),
        }, source=source, withs=[with_], label="disclosures (3 per 1000 subjects)")
        low, high = self.id_range(Disclosure, pk__gt=before)
        through = Disclosure.fields.through
        with_f, fields = sql.series("f", 0, 1)
        self.insert(through, {
            "disclosure": "x.id",
            "personaldatafield": (f"(CASE (x.id + f.n) %% {len(self.fields)} "
                                  + " ".join(f"WHEN {i} THEN {pk}" for i, pk in enumerate(self.fields)) + " END)", []),
        }, source=f"{qn(Disclosure._meta.db_table)} x CROSS JOIN {fields} WHERE x.id BETWEEN %s AND %s",
            withs=[with_f], params=[low, high], label="disclosed fields (2 each)")
        with_k, per = sql.series("k", 0, 4)
        self.insert(DisclosedSubject, {
            "disclosure": "x.id",
            "subject": (f"{first} + ((x.id - {low}) * 5 + k.n) * 37 %% {count}", []),
            "notify_by": ("CAST(x.created_at AS date) + 10" if sql.pg else "date(x.created_at, '+10 days')", []),
        }, source=f"{qn(Disclosure._meta.db_table)} x CROSS JOIN {per} WHERE x.id BETWEEN %s AND %s",
            withs=[with_k], params=[low, high], label="disclosed subjects (5 each)")
        with connection.cursor() as cursor:
            table = qn(Disclosure._meta.db_table)
            cursor.execute(f"UPDATE {table} SET status = 'sent', sent_at = approved_at WHERE id BETWEEN %s AND %s",  # noqa: S608
                           [low, high])

    # The tables that take millions of rows: their secondary indexes are dropped for the load and
    # built again after it (PostgreSQL), one sort each instead of millions of random inserts into
    # every index; the loaded rows and the indexes in the end are the same. Indexes that back a
    # constraint (keys, unique) stay, so the load is still checked by them.
    BULK_TABLES = (DataSubject, Address, history(DataSubject), history(Address), TrailEntry, AccessEvent, Consent,
                   ConsentEvent)

    @contextmanager
    def indexes_set_aside(self):
        if not self.sql.pg:
            yield
            return
        tables = [model._meta.db_table for model in self.BULK_TABLES]
        with connection.cursor() as cursor:
            # Only the owner may drop them: the benchmark runs as the owner, a test as the app role.
            cursor.execute("SELECT bool_and(pg_has_role(current_user, relowner, 'USAGE')) FROM pg_class "
                           "WHERE oid = ANY (SELECT to_regclass(name) FROM unnest(%s::text[]) AS name)", [tables])
            owner = cursor.fetchone()[0]
        if not owner:
            yield
            return
        with connection.cursor() as cursor:
            # Index definitions as PostgreSQL writes them; a partitioned table's are made "ON ONLY"
            # the parent, which would leave its partitions without them.
            cursor.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "WHERE i.indrelid = ANY (SELECT to_regclass(name) FROM unnest(%s::text[]) AS name) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
                "ORDER BY 1", [tables])
            aside = cursor.fetchall()
            for name, _definition in aside:
                cursor.execute(f"DROP INDEX {name}")  # a name PostgreSQL gave, quoted by regclass
        self.progress(f"  {len(aside)} indexes of {len(tables)} tables set aside for the load")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET maintenance_work_mem = '256MB'")
                for _name, definition in aside:
                    cursor.execute(definition.replace(" ON ONLY ", " ON ", 1))
                cursor.execute("RESET maintenance_work_mem")
            self.progress(f"  {len(aside)} indexes built again")

    def analyze(self) -> None:
        self.progress("  ANALYZE …")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def qn(name: str) -> str:
    return connection.ops.quote_name(name)
