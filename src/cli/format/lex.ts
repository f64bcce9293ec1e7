/** The lexer of Go's text/template, for the subset tsnet executes (no define/template/block). */

/** What a token is. */
export type TokenKind = 'text' | 'open' | 'close' | 'field' | 'var' | 'ident' | 'string' | 'number' | 'char' | 'pipe' | 'lparen' | 'rparen' | 'declare' | 'assign' | 'comma' | 'dot' | 'eof';

/** One token: its kind, its text (unquoted for strings), its offset and whether space precedes it. */
export interface Token {
  kind: TokenKind;
  text: string;
  pos: number;
  spaced: boolean;
}

/** A template that does not parse (Go's wording: "template: :LINE: what"). */
export class TemplateError extends Error {}

/** Builds Go's parse error for the token at pos of src. */
export function parseError(src: string, pos: number, what: string): TemplateError {
  const line = 1 + (src.slice(0, pos).match(/\n/g)?.length ?? 0);
  return new TemplateError(`template: :${line}: ${what}`);
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0' };

/** Unquotes a Go interpreted string literal body (the text between the quotes). */
function unquote(body: string, src: string, pos: number): string {
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_m, e: string) => {
    if (/^[xuU]/.test(e)) return String.fromCodePoint(parseInt(e.slice(1), 16));
    if (/^[0-7]{3}$/.test(e)) return String.fromCodePoint(parseInt(e, 8));
    if (e in ESCAPES) return ESCAPES[e];
    throw parseError(src, pos, `unknown escape sequence: \\${e}`);
  });
}

/** Splits src into tokens: text runs, and the items of each {{action}} (trim markers applied, comments dropped). */
export function lex(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    const textEnd = open < 0 ? src.length : open;
    let text = src.slice(i, textEnd);
    if (open >= 0 && /^\{\{-[\t\r\n ]/.test(src.slice(open, open + 4))) text = text.replace(/[\t\r\n ]+$/, '');
    if (text) tokens.push({ kind: 'text', text, pos: i, spaced: false });
    if (open < 0) break;
    i = lexAction(src, open, tokens);
  }
  tokens.push({ kind: 'eof', text: '', pos: src.length, spaced: false });
  return tokens;
}

/** Lexes one action starting at the "{{" at start; returns the offset after its "}}" (and any right trim). */
function lexAction(src: string, start: number, tokens: Token[]): number {
  let i = start + 2;
  if (/^-[\t\r\n ]/.test(src.slice(i, i + 2))) i += 1;
  // A comment fills the whole action: {{/* … */}}, with optional trim markers.
  const rest = src.slice(i).replace(/^[\t\r\n ]*/, '');
  if (rest.startsWith('/*')) {
    const from = src.length - rest.length;
    const end = src.indexOf('*/', from + 2);
    if (end < 0) throw parseError(src, start, 'unclosed comment');
    const after = src.slice(end + 2);
    const m = /^([\t\r\n ]+-)?}}/.exec(after) ?? /^}}/.exec(after);
    if (!m) throw parseError(src, start, 'comment ends before closing delimiter');
    return skipTrim(src, end + 2 + m[0].length, m[0].includes('-'));
  }
  tokens.push({ kind: 'open', text: '{{', pos: start, spaced: false });
  let spaced = false;
  while (true) {
    if (i >= src.length) throw parseError(src, start, 'unclosed action');
    const c = src[i];
    if (/[\t\r\n ]/.test(c)) {
      const ws = /^[\t\r\n ]+/.exec(src.slice(i))![0];
      if (src.startsWith('-}}', i + ws.length)) {
        tokens.push({ kind: 'close', text: '}}', pos: i, spaced: true });
        return skipTrim(src, i + ws.length + 3, true);
      }
      i += ws.length;
      spaced = true;
      continue;
    }
    if (src.startsWith('}}', i)) {
      tokens.push({ kind: 'close', text: '}}', pos: i, spaced });
      return i + 2;
    }
    const tok = lexItem(src, i, start);
    tokens.push({ ...tok, spaced });
    i = tok.pos + tok.length;
    spaced = false;
  }
}

/** Skips the spaces after a right trim marker. */
function skipTrim(src: string, i: number, trim: boolean): number {
  if (!trim) return i;
  return i + (/^[\t\r\n ]*/.exec(src.slice(i))?.[0].length ?? 0);
}

/** Lexes one item inside an action at i. */
function lexItem(src: string, i: number, actionStart: number): { kind: TokenKind; text: string; pos: number; length: number } {
  const s = src.slice(i);
  const item = (kind: TokenKind, length: number, text = s.slice(0, length)) => ({ kind, text, pos: i, length });
  let m: RegExpExecArray | null;
  if (s[0] === '|') return item('pipe', 1);
  if (s[0] === '(') return item('lparen', 1);
  if (s[0] === ')') return item('rparen', 1);
  if (s[0] === ',') return item('comma', 1);
  if (s.startsWith(':=')) return item('declare', 2);
  if (s[0] === '=') return item('assign', 1);
  if ((m = /^"((?:[^"\\\n]|\\.)*)"/.exec(s))) return item('string', m[0].length, unquote(m[1], src, i));
  if (s[0] === '"') throw parseError(src, i, 'unterminated quoted string');
  if (s[0] === '`') {
    const end = s.indexOf('`', 1);
    if (end < 0) throw parseError(src, i, 'unterminated raw quoted string');
    return item('string', end + 1, s.slice(1, end));
  }
  if ((m = /^'((?:[^'\\\n]|\\.)+)'/.exec(s))) return item('char', m[0].length, String(unquote(m[1], src, i).codePointAt(0)));
  if ((m = /^[+-]?(0[xX][0-9a-fA-F_]+|(\d[\d_]*)?\.?\d[\d_]*([eE][+-]?\d+)?)/.exec(s)) && m[0] !== '' && !/^[+-]?\.$/.test(m[0])) {
    if (/^[A-Za-z_.]/.test(s.slice(m[0].length))) throw parseError(src, i, `bad number syntax: "${s.slice(0, m[0].length + 1)}"`);
    return item('number', m[0].length);
  }
  if ((m = /^\.[A-Za-z_][A-Za-z0-9_]*/.exec(s))) return item('field', m[0].length, m[0].slice(1));
  if (s[0] === '.') return item('dot', 1);
  if ((m = /^\$[A-Za-z0-9_]*/.exec(s))) return item('var', m[0].length);
  if ((m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s))) return item('ident', m[0].length);
  throw parseError(src, actionStart, `unexpected "${s[0]}" in command`);
}
