"""Rows written through the real audited bulk path, with their history, trail entries and digests.

The SQL loader writes no digests (scratch.py says why), so ``verify_audit`` is measured on these:
subjects and addresses written by ``subjects_upsert_many`` before the loader runs, when they and
the rows the migrations wrote are the only digested rows in the scratch database.
"""

from shipex_privacy.audit.events import ApiActor, AuditEvent
from shipex_privacy.subjects.intake import SubjectRules
from shipex_privacy.subjects.services import subjects_upsert_many

FIRST_ACCOUNT = 8_000_000_001  # audited sample subjects: SX8000000001 and up
BATCH = 1000


def payload(n: int) -> dict:
    return {
        "account_id": f"SX{FIRST_ACCOUNT + n}", "full_name": f"Aziza Karimova {n}",
        "phone": f"+99891{n % 10_000_000:07d}", "email": f"sample{n}@mail.uz", "preferred_language": "uz",
        "addresses": [{"kind": "home", "region": "Toshkent shahri", "city": "Yunusobod tumani",
                       "street": f"Amir Temur koʻchasi {n % 200 + 1}", "postal_code": "100084"}],
    }


def write_audited_sample(count: int) -> int:
    rules = SubjectRules.load()
    written = 0
    for start in range(0, count, BATCH):
        rows = [(f"SX{FIRST_ACCOUNT + n}", payload(n)) for n in range(start, min(start + BATCH, count))]
        report = subjects_upsert_many(rows=rows, actor=ApiActor("benchmark"), reason="Benchmark sample",
                                      event=AuditEvent.IMPORTED, rules=rules)
        refused = [(r.outcome, r.message) for r in report.refused[:3]]
        if refused:
            raise RuntimeError(f"the audited sample was refused: {refused}")
        written += len(rows)
    return written
