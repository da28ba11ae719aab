import MarkdownIt from 'markdown-it';

/**
 * Markdown for admin announcements, rendered so stored text can never become markup or script:
 * raw HTML is disabled (every `<tag>` is shown as text, escaped), links and images may only point to
 * http(s) or mailto (no javascript:, data:, vbscript:), links open with rel="noopener noreferrer nofollow".
 */
const md = new MarkdownIt({ html: false, linkify: false, typographer: false, breaks: true });
const SAFE_LINK = /^(https?:|mailto:)/i;
md.validateLink = (url: string) => SAFE_LINK.test(url.trim());
md.disable(['image']);
const defaultLinkOpen =
  md.renderer.rules.link_open ??
  ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  tokens[idx]!.attrSet('rel', 'noopener noreferrer nofollow');
  return defaultLinkOpen(tokens, idx, options, env, self);
};

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!,
  );

/** Safe HTML for a stored text: Markdown as above, or plain text escaped with line breaks kept. */
export function renderStoredText(text: string, format: 'plain' | 'markdown'): string {
  if (format === 'markdown') return md.render(text);
  return `<p>${escapeHtml(text).replace(/\r?\n/g, '<br>\n')}</p>\n`;
}

/** HTML the sanitiser produced: the only HTML the pages insert unescaped (see `safeHtml`). */
export type SafeHtml = { readonly sanitised: string };

/** The stored text rendered by `renderStoredText`, wrapped so pages can tell it from any other string. */
export const safeHtml = (text: string, format: 'plain' | 'markdown'): SafeHtml => ({
  sanitised: renderStoredText(text, format),
});
