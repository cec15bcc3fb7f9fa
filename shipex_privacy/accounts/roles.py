"""The three staff roles and their permissions, kept here in code.

A data migration creates the groups; after every migrate their permissions are set to exactly
what this file says, so a permission granted by hand in the admin does not survive a deploy.
"""

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS

COMPLIANCE_OFFICER = "Compliance officer"
SUPPORT_AGENT = "Support agent"
AUDITOR = "Auditor"
ROLES = (COMPLIANCE_OFFICER, SUPPORT_AGENT, AUDITOR)

VIEW = ("view",)
VIEW_CHANGE = ("view", "change")
ALL = ("view", "add", "change", "delete")

CATALOGUE_MODELS = (
    "catalogue.system", "catalogue.purpose", "catalogue.retentionrule", "catalogue.personaldatafield",
    "catalogue.service", "catalogue.processingactivity",
)
CATALOGUE_HISTORY = (
    "catalogue.historicalsystem",
    "catalogue.historicalpurpose",
    "catalogue.historicalretentionrule",
    "catalogue.historicalpersonaldatafield",
    "catalogue.historicalservice",
    "catalogue.historicalprocessingactivity",
)
SUBJECT_MODELS = ("subjects.datasubject", "subjects.address", "subjects.serviceuse")
SUBJECT_HISTORY = ("subjects.historicaldatasubject", "subjects.historicaladdress", "subjects.historicalserviceuse")
DISCLOSURE_HISTORY = (
    "disclosures.historicalrecipient", "disclosures.historicaldisclosure", "disclosures.historicaldisclosedsubject",
    "disclosures.historicalpublicchoice", "disclosures.historicaldisclosureexport",
)
POLICY_MODELS = ("consents.policyversion",)
REGISTER_MODELS = ("consents.cookie", "consents.counter")
CONSENT_RECORDS = (
    "consents.policyacceptance", "consents.consentevent", "consents.cookieconsentevent",
    "consents.subjectwithoutcurrentpolicy",
)
CONSENT_HISTORY = (
    "consents.historicalpolicyversion", "consents.historicalpolicyacceptance", "consents.historicalconsent",
    "consents.historicalcookie", "consents.historicalcounter",
)

PROTECTION_MODELS = (
    "protection.measure", "protection.incident", "protection.incidentfield", "protection.incidentsubject",
    "protection.protectionlevel", "protection.responsibleperson",
)
PROTECTION_HISTORY = (
    "protection.historicalmeasure", "protection.historicalincident", "protection.historicalincidentfield",
    "protection.historicalincidentsubject", "protection.historicalprotectionlevel",
    "protection.historicalresponsibleperson",
)

RIGHTS_REQUEST_MODELS = (
    "rights_requests.subjectrequest", "rights_requests.deadlinechange", "rights_requests.accesspackage",
    "rights_requests.erasureitem", "rights_requests.responsetemplate",
)
RIGHTS_REQUEST_HISTORY = (
    "rights_requests.historicalsubjectrequest", "rights_requests.historicaldeadlinerule",
    "rights_requests.historicaldeadlinechange", "rights_requests.historicalresponsetemplate",
    "rights_requests.historicalaccesspackage", "rights_requests.historicalerasureitem",
)
RETENTION_MODELS = ("retention.legalhold", "retention.retentionrun", "retention.retentionruncount")
RETENTION_HISTORY = (
    "retention.historicallegalhold", "retention.historicalretentionrun", "retention.historicalretentionruncount",
)

# The ShipEx systems' API clients and their tokens; tokens are issued and ended only by the clients' steps.
INTEGRATION_HISTORY = ("integrations.historicalapiclient", "integrations.historicalapitoken",
                       "integrations.historicalsystemintegration", "integrations.historicalsystemtask")
# Systems of record: tasks sent to them and the outbox that carries them (read; retried by compliance).
OUTBOX_MODELS = ("integrations.systemtask", "integrations.outboxmessage", "integrations.deliveryattempt")

# Background jobs: what each run did (written by the jobs only) and the schedules (django-celery-beat).
JOB_RECORDS = ("jobs.jobrun",)
SCHEDULE_MODELS = (
    "django_celery_beat.periodictask", "django_celery_beat.intervalschedule", "django_celery_beat.crontabschedule",
    "django_celery_beat.solarschedule", "django_celery_beat.clockedschedule",
)

# Staff e-mail: everybody's choices and the log of mail sent, read only. Each staff member changes
# their own choices on "My e-mail", which needs no model permission (like one's own password).
NOTIFICATION_RECORDS = ("notifications.notificationpreference", "notifications.historicalnotificationpreference",
                        "notifications.sentmail")


def _grant(models: tuple[str, ...], actions: tuple[str, ...]) -> set[str]:
    return {f"{model.split('.')[0]}.{action}_{model.split('.')[1]}" for model in models for action in actions}


ROLE_PERMISSIONS: dict[str, set[str]] = {
    # Keeps the catalogue; reads subjects and every history to answer for decisions.
    # Publishes policy versions and keeps the cookie and counter registers.
    COMPLIANCE_OFFICER: _grant(CATALOGUE_MODELS, ALL)
    | _grant(SUBJECT_MODELS, VIEW)
    | _grant(CATALOGUE_HISTORY + SUBJECT_HISTORY, VIEW)
    | _grant(POLICY_MODELS + REGISTER_MODELS, ALL)
    | _grant(("consents.consent",), ("view", "add", "change"))
    | _grant(CONSENT_RECORDS + CONSENT_HISTORY, VIEW)
    # Keeps the recipients, drafts disclosures and approves other officers' ones (four eyes).
    | _grant(("disclosures.recipient", "disclosures.publicchoice"), ALL)
    | _grant(("disclosures.disclosure",), ("view", "add", "change"))
    | {"disclosures.approve_disclosure"}
    # Downloads the file a disclosure sent (each download logged); the send step builds it.
    | _grant(("disclosures.disclosureexport",), VIEW)
    | _grant(("disclosures.disclosedsubject",), VIEW_CHANGE)
    | _grant(DISCLOSURE_HISTORY, VIEW)
    # Keeps the measures register and the incident register (1.7.1); an incident is never deleted,
    # but data or a subject linked to it by mistake is unlinked (the history keeps the link).
    | _grant(("protection.measure", "protection.incidentfield", "protection.incidentsubject"), ALL)
    | _grant(("protection.incident",), ("view", "add", "change"))
    # Decides each system's protection level and records the responsible person; neither is deleted
    # (a past decision or appointment is what an auditor asks about).
    | _grant(("protection.protectionlevel", "protection.responsibleperson"), ("view", "add", "change"))
    | _grant(PROTECTION_HISTORY, VIEW)
    # Keeps the deadline table of data-subject requests; reads the requests and their history.
    | _grant(("rights_requests.deadlinerule",), ALL)
    | _grant(RIGHTS_REQUEST_MODELS + RIGHTS_REQUEST_HISTORY, VIEW)
    # Closes an erasure whose other systems have not all confirmed, with a recorded reason.
    | {"rights_requests.override_open_tasks", "rights_requests.extend_beyond_rule"}
    # Keeps the wording of responses to subjects; places and releases legal holds; reads retention runs.
    | _grant(("rights_requests.responsetemplate", "retention.legalhold"), ("view", "add", "change"))
    | _grant(RETENTION_MODELS + RETENTION_HISTORY, VIEW)
    # Reads the access log; sees identifiers masked and reveals one only with a logged reason.
    | {"audit.view_accessevent", "audit.view_trailentry", "subjects.reveal_identifiers"}
    # Keeps the API clients of ShipEx's systems: creates them, sets scopes and limits, rotates and revokes.
    | _grant(("integrations.apiclient",), ("view", "add", "change"))
    | _grant(("integrations.apitoken", *INTEGRATION_HISTORY), VIEW)
    # Reads the job runs; sets when the jobs run (a default schedule deleted comes back with
    # jobs.schedules.ensure_default_schedules; pausing one is the usual way).
    | _grant(JOB_RECORDS, VIEW)
    | _grant(SCHEDULE_MODELS, ALL)
    # Connects systems of record (webhook, signing secret, kinds) and retries their undelivered messages.
    | _grant(("integrations.systemintegration",), ("view", "add", "change"))
    | _grant(OUTBOX_MODELS, VIEW) | {"integrations.change_outboxmessage"}
    | _grant(NOTIFICATION_RECORDS, VIEW),
    # Works on subjects: registers and corrects them, never deletes; no catalogue.
    # Records consents and withdrawals (grant = add, withdraw = change); reads policies and acceptances.
    SUPPORT_AGENT: _grant(("subjects.datasubject",), ("view", "add", "change"))
    | _grant(("subjects.address",), ALL)
    | _grant(SUBJECT_HISTORY, VIEW)
    | _grant(("consents.consent",), ("view", "add", "change"))
    | _grant(POLICY_MODELS + CONSENT_RECORDS + ("consents.historicalconsent",), VIEW)
    # Tells subjects who received their data, and records the notifications it sends them.
    | _grant(("disclosures.disclosure", "disclosures.publicchoice"), VIEW)
    | _grant(("disclosures.disclosedsubject",), VIEW_CHANGE)
    | _grant(("subjects.serviceuse",), ("view", "add", "change"))
    # Answers data-subject requests; reads the deadline table that sets their due dates.
    | _grant(("rights_requests.subjectrequest",), ("view", "add", "change"))
    | _grant(("rights_requests.deadlinerule", "rights_requests.deadlinechange", *RIGHTS_REQUEST_HISTORY), VIEW)
    # Builds access packages and erases from requests (services), reads templates, results and holds.
    | _grant(("rights_requests.accesspackage", "rights_requests.erasureitem", "rights_requests.responsetemplate",
              "retention.legalhold"), VIEW),
    # Reads everything, writes nothing.
    AUDITOR: _grant(
        CATALOGUE_MODELS + SUBJECT_MODELS + CATALOGUE_HISTORY + SUBJECT_HISTORY + POLICY_MODELS + REGISTER_MODELS
        + ("consents.consent",) + CONSENT_RECORDS + CONSENT_HISTORY
        + ("disclosures.recipient", "disclosures.disclosure", "disclosures.disclosedsubject",
           "disclosures.publicchoice", "disclosures.disclosureexport") + DISCLOSURE_HISTORY
        + ("audit.accessevent", "audit.trailentry"),
        VIEW,
    )
    | _grant(PROTECTION_MODELS + PROTECTION_HISTORY, VIEW)
    | _grant(("rights_requests.deadlinerule", *RIGHTS_REQUEST_MODELS, *RIGHTS_REQUEST_HISTORY), VIEW)
    | _grant(RETENTION_MODELS + RETENTION_HISTORY, VIEW)
    | _grant(("integrations.apiclient", "integrations.apitoken", *INTEGRATION_HISTORY), VIEW)
    | _grant(JOB_RECORDS + SCHEDULE_MODELS, VIEW)
    | _grant(("integrations.systemintegration", *OUTBOX_MODELS), VIEW)
    | _grant(NOTIFICATION_RECORDS, VIEW)
    # A reveal is a read that leaves a row in the access log, with its reason.
    | {"subjects.reveal_identifiers"},
}


def sync_roles(apps=global_apps, using: str = DEFAULT_DB_ALIAS) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=role)
        wanted = []
        for dotted in sorted(codenames):
            app_label, codename = dotted.split(".")
            permission = Permission.objects.using(using).filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:  # a model whose migration has not run yet
                wanted.append(permission)
        group.permissions.set(wanted)


def sync_roles_after_migrate(sender, using, **kwargs) -> None:
    from django.contrib.auth.management import create_permissions

    # post_migrate reaches apps in INSTALLED_APPS order, so later apps' permissions may not
    # exist yet; create them all first (idempotent), then set the groups.
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    sync_roles(using=using)
