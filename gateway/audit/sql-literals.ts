// Literal values and comments are data, not query shape: `WHERE ssn = '123-45-6789'` carries the
// very value masking keeps from the agent. The audit trail keeps the statement's shape (and its
// hash, computed by the normalizer over the original text) and replaces every string, bytes and
// numeric literal with `?` and every comment's text with `?` (`-- ?`, `# ?`, `/* ? */`).
//
// The literals are the tokens of the engine's own lexer (engine/sql/lexer.ts), which reads the
// text by BigQuery's rules: what the analysis reads as a string or a number is what is redacted
// here, so the two readings cannot disagree (`OR'x'` is a word and a string, `123-45-6789` is three
// numbers). The one number kept is a piece of an unquoted dashed project id that a path follows
// (`acme-123.sales.orders`), which BigQuery reads as a name. Text the lexer cannot read (an
// unterminated literal, quoted name or comment) is redacted to its end: fail closed.
import { lex, type Token } from '../../engine/sql/lexer.ts';
import { RESERVED } from '../../engine/sql/keywords.ts';

export const PLACEHOLDER = '?';

export interface RedactedSql {
  text: string;
  /** The literal values and comment texts taken out, to scrub from messages that may quote them. */
  removed: string[];
}

export function redactSqlLiterals(sql: string): RedactedSql {
  const { tokens } = lex(sql);
  const removed: string[] = [];
  let out = '';
  let from = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    out += redactGap(sql.slice(from, t.start), removed);
    from = t.end;
    if (t.kind === 'error') {
      removed.push(sql.slice(t.start));
      out += PLACEHOLDER;
      from = sql.length;
      break;
    }
    if (t.kind === 'string') {
      removed.push(stringBody(sql.slice(t.start, t.end)));
      out += PLACEHOLDER;
    } else if (t.kind === 'number' && !dashedNamePiece(tokens, i)) {
      removed.push(sql.slice(t.start, t.end));
      out += PLACEHOLDER;
    } else {
      out += sql.slice(t.start, t.end); // as written (a quoted name's token text is unescaped)
    }
  }
  out += redactGap(sql.slice(from), removed);
  return { text: out, removed };
}

/** The body of a string literal token: without its r/b prefix and its quotes. */
function stringBody(raw: string): string {
  const prefix = /^[rRbB]{0,2}/.exec(raw)![0].length;
  const quote = raw[prefix]!;
  const open = raw.startsWith(quote.repeat(3), prefix) && raw.length - prefix >= 6 ? 3 : 1;
  return raw.slice(prefix + open, Math.max(prefix + open, raw.length - open));
}

/**
 * The text between two tokens, which the lexer skipped: whitespace and comments only. Comments
 * keep their marker and lose their text; anything else (none, by the lexer's rules) is redacted.
 */
function redactGap(gap: string, removed: string[]): string {
  let out = '';
  let i = 0;
  const n = gap.length;
  while (i < n) {
    const c = gap[i]!;
    if (/\s/.test(c)) {
      out += c;
      i++;
      continue;
    }
    if (c === '#' || gap.startsWith('--', i)) {
      const marker = c === '#' ? '#' : '--';
      const nl = gap.slice(i).search(/[\r\n]/);
      const end = nl < 0 ? n : i + nl;
      removed.push(gap.slice(i + marker.length, end));
      out += `${marker} ${PLACEHOLDER}`;
      i = end;
      continue;
    }
    if (gap.startsWith('/*', i)) {
      const close = gap.indexOf('*/', i + 2);
      const end = close < 0 ? n : close + 2;
      removed.push(gap.slice(i + 2, close < 0 ? n : close));
      out += `/* ${PLACEHOLDER} */`;
      i = end;
      continue;
    }
    removed.push(gap.slice(i));
    return out + PLACEHOLDER;
  }
  return out;
}

const isPunct = (t: Token | undefined, text: string) => t !== undefined && t.kind === 'punct' && t.text === text;

/**
 * A number token that is a piece of an unquoted dashed project id, as BigQuery reads
 * `acme-123.sales.orders`: it follows a dash glued to a chain that starts with an unreserved
 * name (`acme-`, `acme-x-`), and the chain, this piece included, ends in a path dot (the lexer
 * reads `123.sales.orders` as one token; or `acme-123-x.sales`). Without the path (`a-1`,
 * `ssn = 123-45-6789`) a number is a value.
 */
function dashedNamePiece(tokens: readonly Token[], i: number): boolean {
  // Back along the chain: piece, '-', piece, '-', ..., first piece (a word).
  let j = i;
  for (;;) {
    const dash = tokens[j - 1];
    const before = tokens[j - 2];
    if (!isPunct(dash, '-') || before === undefined || dash!.start !== before.end || tokens[j]!.start !== dash!.end) return false;
    if (before.kind === 'word') {
      const dashBefore = tokens[j - 3];
      const start = !isPunct(dashBefore, '-') || dashBefore!.end !== before.start;
      if (start) {
        if (RESERVED.has(before.upper)) return false;
        break;
      }
    } else if (before.kind !== 'number') {
      return false;
    }
    j -= 2;
  }
  // Forward along the chain to its last piece, which must go on as a path.
  let k = i;
  for (;;) {
    const piece = tokens[k]!;
    if (piece.kind === 'number' && /^[0-9]+\.[A-Za-z_]/.test(piece.text)) return true;
    if (piece.kind === 'number' && !/^[0-9]+$/.test(piece.text)) return false;
    const next = tokens[k + 1];
    const after = tokens[k + 2];
    if (isPunct(next, '.') && next!.start === piece.end) return true;
    if (!isPunct(next, '-') || next!.start !== piece.end || after === undefined || after.start !== next!.end) return false;
    if (after.kind !== 'word' && after.kind !== 'number') return false;
    k += 2;
  }
}

/** Literal values shorter than this are not searched for in messages: `1` or `US` would hit everywhere. */
const MIN_SCRUBBED_LITERAL = 3;

/** `text` (a reason, an error) with every literal `redactSqlLiterals` removed replaced by `?`. */
export function replaceLiterals(text: string, removed: readonly string[]): string {
  let out = text;
  for (const value of removed) {
    const trimmed = value.trim();
    if (trimmed.length >= MIN_SCRUBBED_LITERAL && out.includes(trimmed)) out = out.split(trimmed).join(PLACEHOLDER);
  }
  return out;
}
