// One gateway replica in its own process: opens the shared database and tries to spend a one-time
// grant at an agreed instant, then prints what happened (`won` or the refusal code).
import { createApprovalStore } from '../../../gateway/approvals/index.ts';
import { openDatabase } from '../../../gateway/store/database.ts';

const [url, grantId, label, startAt] = process.argv.slice(2) as [string, string, string, string];
const database = await openDatabase(url);
const store = createApprovalStore({ database, publicUrl: 'http://127.0.0.1', sweepIntervalMs: 0 });
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
let outcome: string;
try {
  await store.consumeOneTime([grantId], label);
  outcome = 'won';
} catch (error) {
  outcome = (error as { code?: string }).code ?? String(error);
}
await store.close();
await database.close();
process.stdout.write(outcome);
