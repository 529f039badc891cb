// `npm run dashboard-user -- <user> <viewer|operator|admin>`: reads a password from stdin (or makes one
// when stdin is a terminal or empty) and prints the DASHBOARD_USERS entry with its scrypt hash.
import { text } from 'node:stream/consumers';
import { generatePassword, hashPassword } from './password.ts';

const [user, role = 'viewer'] = process.argv.slice(2);
if (!user || !/^[\w.@-]{1,64}$/.test(user) || !['viewer', 'operator', 'admin'].includes(role)) {
  console.error('usage: npm run dashboard-user -- <user> <viewer|operator|admin>   (password on stdin, or one is generated)');
  process.exit(2);
}
const given = process.stdin.isTTY ? '' : (await text(process.stdin)).replace(/\r?\n$/, '');
const password = given || generatePassword();
if (!given) console.log(`password: ${password}`);
console.log(`DASHBOARD_USERS entry: ${JSON.stringify({ user, hash: await hashPassword(password), role })}`);
