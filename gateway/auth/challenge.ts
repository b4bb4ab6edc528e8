// The Bearer challenge's error_description (RFC 6750 §3): only printable ASCII other than `"`
// and `\`. A refusal message can quote a subject, a disable reason or a provider's error text;
// a character outside that set would make the header write throw, turning a 401 into a 500.

/** `message` as an error_description value: every character outside the allowed set becomes `?`. */
export function challengeDescription(message: string): string {
  return message.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/gu, '?');
}
