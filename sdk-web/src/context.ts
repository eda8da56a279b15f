/**
 * The browser context of a call: page (the referrer is the previous URL after an SPA navigation),
 * user agent, locale, timezone, screen. The UTM campaign travels in `page.search`: the collector
 * reads `utm_*` from there, so the rule lives in one place.
 */

let current: string | undefined;
let referrer = '';

export function browserContext(): Record<string, unknown> {
  const { href, pathname, search } = location;
  if (href != current) {
    referrer = current ?? document.referrer;
    current = href;
  }
  return {
    page: { path: pathname, referrer, search, title: document.title, url: href },
    userAgent: navigator.userAgent,
    locale: navigator.language,
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    screen: { width: screen.width, height: screen.height, density: devicePixelRatio },
  };
}
