// The example shop's behaviour: a cart in localStorage and the e-commerce events Tally
// records. `tally` is the global the script tag installs (loaded before this file).
const PRODUCTS = [
  { product_id: 'mug-01', sku: 'MUG-01', name: 'Tally mug', price: 14, category: 'Kitchen' },
  { product_id: 'tee-02', sku: 'TEE-02', name: 'Counting T-shirt', price: 25, category: 'Apparel' },
  { product_id: 'pen-03', sku: 'PEN-03', name: 'Tally-mark pen', price: 4.5, category: 'Office' },
  { product_id: 'bag-04', sku: 'BAG-04', name: 'Tote bag', price: 18, category: 'Apparel' },
];
const money = (n) => `€${n.toFixed(2)}`;
const find = (id) => PRODUCTS.find((p) => p.product_id === id);
const readCart = () => JSON.parse(localStorage.getItem('shop-cart') || '[]');
const writeCart = (cart) => localStorage.setItem('shop-cart', JSON.stringify(cart));
const cartProducts = () =>
  readCart().map((line) => ({ ...find(line.product_id), quantity: line.quantity }));
const cartTotal = () => cartProducts().reduce((sum, p) => sum + p.price * p.quantity, 0);

function renderUser() {
  const el = document.querySelector('[data-user]');
  if (!el) return;
  const name = localStorage.getItem('shop-user-name');
  el.textContent = name ? `Hello, ${name}` : 'Log in';
}

function addToCart(product) {
  const cart = readCart();
  const line = cart.find((l) => l.product_id === product.product_id);
  if (line) line.quantity += 1;
  else cart.push({ product_id: product.product_id, quantity: 1 });
  writeCart(cart);
  tally.productAdded({ ...product, quantity: 1, currency: 'EUR' });
}

const pages = {
  list() {
    const list = document.querySelector('#products');
    list.innerHTML = PRODUCTS.map(
      (p) => `<li><a href="product.html?id=${p.product_id}">${p.name}</a> <span>${money(p.price)}</span></li>`,
    ).join('');
  },
  product() {
    const product = find(new URLSearchParams(location.search).get('id')) || PRODUCTS[0];
    document.querySelector('#name').textContent = product.name;
    document.querySelector('#price').textContent = money(product.price);
    document.title = `${product.name} · Tally shop`;
    tally.productViewed({ ...product, currency: 'EUR' });
    document.querySelector('#add').addEventListener('click', () => {
      addToCart(product);
      document.querySelector('#added').hidden = false;
    });
  },
  cart() {
    const products = cartProducts();
    document.querySelector('#lines').innerHTML = products.length
      ? products.map((p) => `<li>${p.quantity} × ${p.name} — ${money(p.price * p.quantity)}</li>`).join('')
      : '<li>Your cart is empty.</li>';
    document.querySelector('#total').textContent = money(cartTotal());
    tally.cartViewed({ cart_id: 'browser-cart', products });
  },
  checkout() {
    const products = cartProducts();
    const total = cartTotal();
    document.querySelector('#total').textContent = money(total);
    if (products.length === 0) {
      document.querySelector('#pay').disabled = true;
      return;
    }
    tally.checkoutStarted({ order_id: sessionStorage.getItem('shop-order') || newOrderId(), value: total, revenue: total, currency: 'EUR', products });
    document.querySelector('#pay').addEventListener('click', () => {
      const order_id = sessionStorage.getItem('shop-order');
      tally.orderCompleted({ order_id, total, revenue: total, currency: 'EUR', products });
      writeCart([]);
      sessionStorage.removeItem('shop-order');
      document.querySelector('#done').hidden = false;
      document.querySelector('#pay').disabled = true;
    });
  },
  login() {
    document.querySelector('#login').addEventListener('submit', (event) => {
      event.preventDefault();
      const email = document.querySelector('#email').value.trim().toLowerCase();
      const name = document.querySelector('#fullname').value.trim();
      if (!email) return;
      // The user id is the shop's own account id; here the e-mail stands in for it.
      tally.identify(`user:${email}`, { email, name });
      localStorage.setItem('shop-user-name', name || email);
      renderUser();
      document.querySelector('#welcome').hidden = false;
    });
  },
};

function newOrderId() {
  const id = `order-${Date.now().toString(36)}`;
  sessionStorage.setItem('shop-order', id);
  return id;
}

renderUser();
pages[document.body.dataset.page]?.();
