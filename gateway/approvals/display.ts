// Text a requester wrote, as an approver is shown it: what runs, character for character. A
// control character (a terminal escape that erases what was printed and draws something else),
// a bidi control (which reorders what a browser or terminal shows, so a filter seems to apply
// that sits in a comment) or an invisible format character (zero-width space, joiner) is shown
// as a visible `\u{…}` escape, never raw, and so is every character Unicode says a renderer may
// draw as nothing (Default_Ignorable_Code_Point: Hangul fillers, variation selectors, tag
// characters) and the braille blank, which draws as a space but is none to BigQuery. Line breaks
// and tabs stay: a CR LF is a line break, a lone CR (a line break to BigQuery, an overwrite to a
// terminal) is shown and breaks the line.
const HIDDEN_CHARACTER = String.raw`[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Default_Ignorable_Code_Point}\u2800]`;
const HIDDEN = new RegExp(String.raw`\r\n|${HIDDEN_CHARACTER}`, 'gu');

/** A character as the visible escape it is shown as. */
const escaped = (c: string): string => `\\u{${c.codePointAt(0)!.toString(16).toUpperCase()}}`;

export function visibleText(text: string): string {
  return text.replace(HIDDEN, (c) => {
    if (c === '\n' || c === '\t') return c;
    if (c === '\r\n') return '\n';
    // Characters that break a line (to BigQuery's lexer or to a reader) still break it.
    return c === '\r' || c === '\u0085' || c === '\u2028' || c === '\u2029' ? `${escaped(c)}\n` : escaped(c);
  });
}

/** A request's query parameters as the approver reads them: indented JSON, shown as visibleText. */
export function visibleParameters(parameters: unknown): string {
  return visibleText(JSON.stringify(parameters, null, 2));
}

const HIDDEN_IN_NAME = new RegExp(HIDDEN_CHARACTER, 'gu');

/**
 * A one-line name from a token (a requester's or an approver's subject, a group, an issuer) as a
 * person is shown it: as `visibleText`, and a line break or tab is an escape too, since a name has
 * none. A subject is the provider's text, often built from what its holder chose (a client's name,
 * a workflow's branch): a bidi control or an invisible character would otherwise show the approver
 * another requester than the one asking, and a line break forge a line of `sluice approvals show`.
 */
export function visibleName(text: string): string {
  return text.replace(HIDDEN_IN_NAME, escaped);
}
