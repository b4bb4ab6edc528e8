// Splits a SQL text into top-level statements at `;`, from the lexer's tokens so that
// semicolons inside literals, quoted names and comments never split. Procedural blocks
// (BEGIN…END, IF…END IF, LOOP, WHILE, REPEAT, FOR, CASE…END CASE) stay one statement: their
// inner `;` belong to the block, and the block is judged as a whole.
import type { Token } from './lexer.ts';

export interface StatementSpan {
  tokens: Token[];
  /** Offsets of the first and last token in the text. */
  start: number;
  end: number;
  /** A procedural block opened here was never closed. */
  unterminatedBlock: boolean;
}

const BLOCK_OPENERS = new Set(['BEGIN', 'IF', 'LOOP', 'WHILE', 'REPEAT', 'FOR', 'CASE']);
const BLOCK_END_KEYWORDS = new Set(['IF', 'LOOP', 'WHILE', 'REPEAT', 'FOR', 'CASE']);
/** Keywords after which a new procedural statement begins. */
const STATEMENT_LEADS = new Set(['BEGIN', 'THEN', 'ELSE', 'DO', 'LOOP', 'REPEAT']);

/** BEGIN opens a block unless it starts a transaction (`BEGIN`, `BEGIN TRANSACTION`). */
function beginsBlock(tokens: Token[], i: number): boolean {
  const next = tokens[i + 1];
  return next !== undefined && next.upper !== 'TRANSACTION' && next.text !== ';';
}

/**
 * The BEGIN of `CREATE PROCEDURE p(…) [OPTIONS(…)] BEGIN … END`: it opens the procedure's body,
 * whose statements belong to the CREATE, though it does not start a statement.
 */
function procedureBody(current: readonly Token[]): boolean {
  if (current[0]?.upper !== 'CREATE' || !current.some((t) => t.kind === 'word' && t.upper === 'PROCEDURE')) return false;
  let depth = 0;
  for (const t of current) {
    if (t.kind === 'punct' && t.text === '(') depth++;
    else if (t.kind === 'punct' && t.text === ')') depth--;
  }
  return depth === 0;
}

export function splitStatements(tokens: Token[]): StatementSpan[] {
  const spans: StatementSpan[] = [];
  // 'block' for procedural blocks, 'case' for CASE expressions (whose END closes them).
  const stack: ('block' | 'case')[] = [];
  let current: Token[] = [];
  let atStart = true;

  const flush = () => {
    if (current.length > 0) {
      spans.push({
        tokens: current,
        start: current[0]!.start,
        end: current[current.length - 1]!.end,
        unterminatedBlock: stack.length > 0,
      });
    }
    current = [];
  };

  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'punct' && t.text === ';') {
      if (stack.length === 0) {
        flush();
      } else {
        current.push(t);
      }
      atStart = true;
      continue;
    }
    current.push(t);
    const wasStart = atStart;
    atStart = false;
    if (t.kind !== 'word') continue;
    // `label: LOOP …`: the statement starts after the label.
    if (wasStart && tokens[i + 1]?.kind === 'punct' && tokens[i + 1]!.text === ':') {
      current.push(tokens[++i]!);
      atStart = true;
      continue;
    }
    const top = stack[stack.length - 1];
    switch (t.upper) {
      case 'CASE':
        stack.push(wasStart ? 'block' : 'case');
        break;
      case 'END':
        if (top === 'case') {
          stack.pop();
        } else if (wasStart && top === 'block') {
          stack.pop();
          const next = tokens[i + 1];
          if (next?.kind === 'word' && BLOCK_END_KEYWORDS.has(next.upper)) {
            current.push(next);
            i++;
          }
        }
        break;
      case 'THEN':
      case 'ELSE':
        atStart = top !== 'case';
        break;
      default:
        if (wasStart && BLOCK_OPENERS.has(t.upper) && (t.upper !== 'BEGIN' || beginsBlock(tokens, i))) {
          stack.push('block');
        } else if (t.upper === 'BEGIN' && stack.length === 0 && procedureBody(current)) {
          stack.push('block');
          atStart = true;
        }
        if (STATEMENT_LEADS.has(t.upper) && (wasStart || t.upper === 'DO')) atStart = true;
    }
  }
  flush();
  return spans;
}
