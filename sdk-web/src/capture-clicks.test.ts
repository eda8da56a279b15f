import { beforeEach, describe, expect, it, vi } from 'vitest';
import { clearBrowserState, fakeNetwork, testEnv, type FakeNetwork } from '../test/helpers.js';
import { captureClicks, selector } from './capture-clicks.js';
import { createTally, type Options } from './core.js';
import { QUEUE } from './delivery.js';

let net: FakeNetwork;
let root: HTMLElement;
const start = (o: Partial<Options> = {}) => {
  // A fresh root per test: listeners of earlier trackers stay on the document but see no elements of this root.
  root = document.createElement('main');
  root.id = `root${Math.random().toString(36).slice(2)}`;
  document.body.append(root);
  const own = root;
  const t = createTally(testEnv(net), [
    (tally, opts) => {
      const scoped = {
        ...tally,
        track: (...a: Parameters<typeof tally.track>) => own.isConnected && tally.track(...a),
        flush: (...a: Parameters<typeof tally.flush>) => own.isConnected && tally.flush(...a),
      };
      captureClicks(scoped as typeof tally, opts);
    },
  ]);
  t.init({ writeKey: 'wk', flushAt: 100, ...o });
  return t;
};
const tracks = () => net.accepted().filter((m) => m.type == 'track');

beforeEach(() => {
  clearBrowserState();
  document.body.innerHTML = '';
  net = fakeNetwork();
});

describe('click capture', () => {
  it('sends data-tally-event with its data-tally-prop-* attributes, also for clicks inside the element', () => {
    const t = start();
    root.innerHTML = `<button data-tally-event="Plan Chosen" data-tally-prop-plan="pro" data-tally-prop-product_id="p-1"><span>Choose</span></button>`;
    root.querySelector('span')!.click();
    t.flush();
    expect(tracks()).toHaveLength(1);
    expect(tracks()[0]).toMatchObject({ event: 'Plan Chosen', properties: { plan: 'pro', product_id: 'p-1' } });
  });

  it('ignores other clicks unless every link and button is asked for', () => {
    const t = start();
    root.innerHTML = `<button>Buy</button><a href="#x">Read</a>`;
    root.querySelector('button')!.click();
    t.flush();
    expect(tracks()).toHaveLength(0);
  });

  it("with captureClicks: 'all' sends links and buttons with text and a short selector, never input values", () => {
    const t = start({ captureClicks: 'all' });
    root.innerHTML = `<form class="signup"><input name="email" value="secret@example.com"><button class="primary big"> Join now </button></form><a href="#terms" id="terms">Terms</a>`;
    root.querySelector('button')!.click();
    root.querySelector('input')!.click();
    root.querySelector('a')!.click();
    t.flush();
    const [b, a] = tracks();
    expect(tracks()).toHaveLength(2);
    expect(b).toMatchObject({ event: 'Element Clicked', properties: { text: 'Join now', selector: `main#${root.id}>form.signup>button.primary` } });
    expect(a).toMatchObject({ event: 'Element Clicked', properties: { text: 'Terms', selector: 'a#terms', href: `${location.href.split('#')[0]}#terms` } });
    expect(JSON.stringify(net.requests)).not.toContain('secret@example.com');
  });

  it('a click on a link that leaves the page sends at once, with keepalive', () => {
    start();
    root.innerHTML = `<a href="/elsewhere" data-tally-event="Outbound">Go</a>`;
    root.querySelector('a')!.addEventListener('click', (e) => e.preventDefault());
    root.querySelector('a')!.click();
    expect(net.requests).toHaveLength(1);
    expect(net.requests[0]!.keepalive).toBe(true);
    expect(net.requests[0]!.body.batch[0]!.event).toBe('Outbound');
  });

  it('a leaving link’s event is stored before it is sent: a request the page never hears back from is sent again by the next page', async () => {
    start();
    net.respond(() => 'page gone');
    root.innerHTML = `<a href="/elsewhere" data-tally-event="Outbound">Go</a>`;
    root.querySelector('a')!.addEventListener('click', (e) => e.preventDefault());
    root.querySelector('a')!.click();
    expect(net.requests).toHaveLength(1);
    const stored = Object.keys(localStorage).filter((k) => k.startsWith(QUEUE));
    expect(stored).toHaveLength(1);
    expect(localStorage.getItem(stored[0]!)).toContain('"event":"Outbound"');
    // The next page: its tracker finds the stored event and sends it.
    net.respond(() => ({ status: 200 }));
    createTally(testEnv(net)).init({ writeKey: 'wk', capturePages: false });
    await vi.waitFor(() => {
      expect(net.accepted().map((m) => m.event)).toEqual(['Outbound']);
      expect(Object.keys(localStorage).filter((k) => k.startsWith(QUEUE))).toEqual([]);
    });
  });

  it('captureClicks: false turns it off', () => {
    const t = start({ captureClicks: false });
    root.innerHTML = `<button data-tally-event="X">x</button>`;
    root.querySelector('button')!.click();
    t.flush();
    expect(tracks()).toHaveLength(0);
  });
});

describe('selector', () => {
  it('stops at an id and at three levels', () => {
    document.body.innerHTML = `<div id="app"><ul class="menu x"><li><a class="nav">x</a></li></ul></div>`;
    expect(selector(document.querySelector('a')!)).toBe('ul.menu>li>a.nav');
    expect(selector(document.querySelector('li')!)).toBe('div#app>ul.menu>li');
  });
});
