from django.db import migrations, models


def install(apps, schema_editor):
    from shipex_privacy.subjects import registrations

    registrations.install(schema_editor)


def uninstall(apps, schema_editor):
    from shipex_privacy.subjects import registrations

    registrations.uninstall(schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('subjects', '0008_subject_closed_clock_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='RegistrationHour',
            fields=[
                ('hour', models.DateTimeField(primary_key=True, serialize=False, verbose_name='hour (UTC)')),
                ('registered', models.IntegerField(verbose_name='subjects registered')),
            ],
            options={
                'verbose_name': 'registrations in an hour',
                'verbose_name_plural': 'registrations per hour',
            },
        ),
        # The triggers that keep the counts (subjects/registrations.py), and the subjects already there.
        migrations.RunPython(install, uninstall),
    ]
