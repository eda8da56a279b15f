// A single-page app using the ESM package. Navigation is client-side (history.pushState);
// the tracker notices it and records a pageview per route, as it does on a full load.
import { identify, init, track } from '@tally/sdk-web';

init({ writeKey: '__WRITE_KEY__', host: '__COLLECTOR_URL__', flushInterval: 500 });

const routes = {
  '/spa/': () => `
    <h1>Count what matters</h1>
    <p>Tally turns visits into customers you can query with SQL.</p>
    <button data-tally-event="CTA Clicked" data-tally-prop-location="hero">Start free</button>`,
  '/spa/pricing': () => `
    <h1>Pricing</h1>
    <ul><li>Hobby: free</li><li>Team: €49 / month</li></ul>
    <button id="choose">Choose Team</button>`,
  '/spa/signup': () => `
    <h1>Sign up</h1>
    <form id="signup"><label>E-mail <input id="email" type="email" required></label><button>Create account</button></form>
    <p id="thanks" hidden>Welcome aboard.</p>`,
};

function render() {
  const view = routes[location.pathname] ?? routes['/spa/'];
  document.querySelector('#view').innerHTML = view();
  document.querySelector('#choose')?.addEventListener('click', () => track('Plan Selected', { plan: 'team', price: 49 }));
  document.querySelector('#signup')?.addEventListener('submit', (event) => {
    event.preventDefault();
    const email = document.querySelector('#email').value.trim().toLowerCase();
    identify(`user:${email}`, { email });
    track('Signed Up', { plan: 'hobby' });
    document.querySelector('#thanks').hidden = false;
  });
}

document.addEventListener('click', (event) => {
  const link = event.target.closest('a[data-link]');
  if (!link) return;
  event.preventDefault();
  history.pushState(null, '', link.getAttribute('href'));
  render();
});
addEventListener('popstate', render);
render();
