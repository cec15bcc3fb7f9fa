// The schedule page (django-celery-beat): say what the chosen crontab means, under its field.
'use strict';
{
    const script = document.currentScript;
    const readable = JSON.parse(document.getElementById('readable-crontabs').textContent);
    const ready = () => {
        const select = document.getElementById('id_crontab');
        const help = document.querySelector('.field-crontab .help');
        const translation = document.querySelector('.field-crontab_translation');
        if (translation) { translation.hidden = true; }
        if (!select || !help) { return; }
        const meaning = document.createElement('div');
        help.appendChild(meaning);
        const show = () => { meaning.textContent = select.value ? `${script.dataset.label} ${readable[select.value] || ''}` : ''; };
        select.addEventListener('change', show);
        show();
    };
    if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', ready); } else { ready(); }
}
