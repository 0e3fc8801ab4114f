// The console page: /console/{guest}. Each connect asks the API for a fresh one-shot monitor channel (its id opens the
// WebSocket relay to the guest's VNC, its password logs noVNC in), so a dropped socket is followed by a new channel, not
// a reused one. The session comes from the URL's fragment (#session=…, which nanoctl console prints and which never
// reaches a server log), from this tab's storage, or from the login form; it is kept alive while the page is open.
import RFB from '/console/novnc/core/rfb.js';

const guest = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() || '');
const statusLine = document.getElementById('status');
const screen = document.getElementById('screen');
const login = document.getElementById('login');
const ctrlAltDel = document.getElementById('ctrl-alt-del');
const reconnectMs = 2000;

// What the page is doing, for people (the status line) and for tests.
const state = window.nanoConsole = { state: 'starting', connects: 0, events: [], error: '' };

function show(what, detail = '') {
  state.state = what;
  state.error = detail;
  statusLine.textContent = detail ? `${what}: ${detail}` : what;
}

function takeSessionFromFragment() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.has('session')) {
    sessionStorage.setItem('nano-session', fragment.get('session'));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem('nano-session');
}

async function api(method, path, body, session) {
  const headers = { 'Content-Type': 'application/json' };
  if (session) headers['Nano-Session'] = session;
  const response = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const envelope = await response.json();
  if (envelope.error_code !== 0) {
    const failure = new Error(envelope.message || `error ${envelope.error_code}`);
    failure.code = envelope.error_code;
    throw failure;
  }
  return envelope.data;
}

let session = takeSessionFromFragment();
let rfb = null;

function askForLogin(reason) {
  sessionStorage.removeItem('nano-session');
  session = null;
  login.hidden = false;
  show('login needed', reason);
}

login.addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(login);
  try {
    const answer = await api('POST', '/sessions/', { user: form.get('user'), password: form.get('password'), nonce: 'console' });
    session = answer.session;
    sessionStorage.setItem('nano-session', session);
    login.hidden = true;
    connect();
  } catch (failure) {
    show('login failed', failure.message);
  }
});

async function connect() {
  if (!session) {
    askForLogin('');
    return;
  }
  show('connecting');
  let channel;
  try {
    channel = await api('POST', '/monitor_channels/', { guest }, session);
  } catch (failure) {
    if (failure.code === 401) {
      askForLogin(failure.message);
      return;
    }
    show('waiting', failure.message); // the guest stopped, its cell is away: try again
    setTimeout(connect, reconnectMs);
    return;
  }
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  rfb = new RFB(screen, `${scheme}://${location.host}/api/v1/monitor_channels/${channel.id}`,
    { credentials: { password: channel.password }, wsProtocols: ['binary'] });
  rfb.scaleViewport = true;
  rfb.background = '#202124';
  rfb.addEventListener('connect', () => {
    state.connects += 1;
    state.events.push('connect');
    ctrlAltDel.disabled = false;
    show('connected');
  });
  rfb.addEventListener('credentialsrequired', () => {
    state.events.push('credentialsrequired');
    rfb.sendCredentials({ password: channel.password });
  });
  rfb.addEventListener('securityfailure', (event) => {
    state.events.push('securityfailure');
    show('refused', event.detail.reason || 'the console refused the password');
  });
  rfb.addEventListener('disconnect', () => {
    state.events.push('disconnect');
    ctrlAltDel.disabled = true;
    rfb = null;
    show('reconnecting');
    setTimeout(connect, reconnectMs);
  });
}

ctrlAltDel.addEventListener('click', () => rfb && rfb.sendCtrlAltDel());

// A session ends 180 s after its last keep-alive: keep it while the page is open.
setInterval(() => { if (session) api('PUT', `/sessions/${session}`, {}, session).catch(() => {}); }, 60000);

document.getElementById('guest').textContent = guest;
connect();
