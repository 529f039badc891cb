// The mail host's SMTP server for `npm run multihost`: accepts every message (nothing is delivered anywhere) and
// keeps one record per message: the sending address, the X-Conveyor-Job-Id and Message-ID headers, recipients, time. The driver reads
// them over HTTP (GET /messages) to count emails per job: a job that sent twice shows up twice.
// usage: smtp-catcher.ts <address> <smtp port> <http port>
import { createServer } from 'node:http';
import { SMTPServer } from 'smtp-server';

const [address = '127.0.0.1', smtpPort = '2525', httpPort = '8025'] = process.argv.slice(2);

interface Caught {
  /** the sending host's address: which worker host delivered it */
  from: string;
  jobId: string | null;
  messageId: string | null;
  to: string[];
  at: number;
  bytes: number;
}
const caught: Caught[] = [];

function header(head: string, name: string): string | null {
  const m = new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'im').exec(head);
  return m?.[1] ? m[1].replace(/\r?\n[ \t]+/g, ' ').trim() : null;
}

const smtp = new SMTPServer({
  name: 'multihost-mail',
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  size: 10 * 1024 * 1024,
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const end = raw.search(/\r?\n\r?\n/);
      const head = end === -1 ? raw : raw.slice(0, end);
      caught.push({
        from: session.remoteAddress.replace(/^::ffff:/, ''),
        jobId: header(head, 'X-Conveyor-Job-Id'),
        messageId: header(head, 'Message-ID'),
        to: session.envelope.rcptTo.map((r) => r.address),
        at: Date.now(),
        bytes: raw.length,
      });
      callback(null, `caught ${caught.length}`);
    });
  },
});
smtp.on('error', (err) => console.error(JSON.stringify({ msg: 'smtp error', err: err.message })));
smtp.listen(Number(smtpPort), address, () => console.log(JSON.stringify({ msg: 'smtp listening', address, port: Number(smtpPort) })));

createServer((req, res) => {
  if (req.url === '/messages') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(caught));
    return;
  }
  res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end(req.url === '/healthz' ? 'ok' : 'not found');
}).listen(Number(httpPort), address, () => console.log(JSON.stringify({ msg: 'http listening', address, port: Number(httpPort) })));

const stop = () => smtp.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
