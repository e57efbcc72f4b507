// First run: make the first facilitator account with the one-time link
// `haven serve` printed, then go to the console, logged in.

import { api } from './api.js';

const $ = (id) => document.getElementById(id);
const token = decodeURIComponent(location.pathname.split('/').pop() || '');

$('setup-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const error = $('setup-error');
  const username = $('setup-username').value.trim();
  const password = $('setup-password').value;
  if (password !== $('setup-repeat').value) {
    error.textContent = 'The two passwords differ.';
    $('setup-repeat').focus();
    return;
  }
  const r = await api('POST', '/api/setup', { token, username, password });
  if (r.ok) {
    location.assign('/');
    return;
  }
  error.textContent = r.data ? r.data.message : 'Could not create the account.';
});
