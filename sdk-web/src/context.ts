/** The browser context of a call: page, referrer (the previous URL after an SPA navigation), UTM campaign. */

let current: string | undefined;
let referrer = '';

/** `utm_source=x&utm_campaign=y` → `{ source: 'x', name: 'y' }` */
export function campaign(search: string): Record<string, string> | undefined {
  let c: Record<string, string> | undefined;
  new URLSearchParams(search).forEach((v, k) => {
    if (k.startsWith('utm_')) (c ||= {})[k == 'utm_campaign' ? 'name' : k.slice(4)] = v;
  });
  return c;
}

export function browserContext(): Record<string, unknown> {
  const { href, pathname, search } = location;
  if (href != current) {
    referrer = current ?? document.referrer;
    current = href;
  }
  const n = navigator;
  return {
    page: { path: pathname, referrer, search, title: document.title, url: href },
    userAgent: n.userAgent,
    locale: n.language,
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    screen: { width: screen.width, height: screen.height, density: devicePixelRatio },
    campaign: campaign(search),
  };
}
