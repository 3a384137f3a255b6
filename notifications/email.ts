/**
 * A rendered notice as an email a person reads: plain text and HTML with the
 * same content. The HTML is a single table-free column with inline styles,
 * which every mail client shows the same way; every value is escaped.
 */
import type { RenderedNotice } from './notices';

export interface NoticeEmail {
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (value: string) =>
  value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/** What an email shows of a notice. */
export type EmailedNotice = Pick<RenderedNotice, 'title' | 'body' | 'link' | 'facts' | 'links'>;

const linksOf = (notice: EmailedNotice) =>
  notice.links ?? [{ label: 'Open in Custodian', url: notice.link }];

export function noticeEmail(notice: EmailedNotice): NoticeEmail {
  const links = linksOf(notice);
  const text =
    `${notice.title}\n\n${notice.body}\n\n` +
    links.map((l) => `${l.label}: ${l.url}`).join('\n') +
    '\n\n-- \nCustodian. Change which notices you get: PUT /v1/me/notification-settings\n';
  const facts = notice.facts
    ? notice.facts
        .map(
          (f) =>
            `<p style="margin:0 0 10px"><span style="display:block;color:#5f6b7a;font-size:12px;text-transform:uppercase;letter-spacing:.04em">${escapeHtml(f.label)}</span>${escapeHtml(f.value)}</p>`,
        )
        .join('\n')
    : notice.body
        .split('\n')
        .map((line) => `<p style="margin:0 0 10px">${escapeHtml(line)}</p>`)
        .join('\n');
  const buttons = links
    .map(
      (l, i) =>
        `<a href="${escapeHtml(l.url)}" style="display:inline-block;margin:0 8px 8px 0;padding:8px 14px;border-radius:6px;text-decoration:none;${i === 0 ? 'background:#1d4ed8;color:#ffffff' : 'background:#eef2f7;color:#1d4ed8'}">${escapeHtml(l.label)}</a>`,
    )
    .join('\n');
  const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(notice.title)}</title></head>
<body style="margin:0;padding:24px;background:#f5f7fa;font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:15px;line-height:1.45;color:#1f2933">
<div style="max-width:560px;margin:0 auto;background:#ffffff;border:1px solid #dde3ea;border-radius:8px;padding:24px">
<h1 style="font-size:18px;margin:0 0 18px">${escapeHtml(notice.title)}</h1>
${facts}
<div style="margin-top:18px">
${buttons}
</div>
</div>
<p style="max-width:560px;margin:12px auto 0;color:#5f6b7a;font-size:12px">Custodian. Change which notices you get: PUT /v1/me/notification-settings</p>
</body>
</html>
`;
  return { subject: `[Custodian] ${notice.title}`, text, html };
}
