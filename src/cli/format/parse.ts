/** The parser of Go's text/template: tokens into a tree of text, actions, if/with/range blocks. */
import { lex, parseError, TemplateError, type Token } from './lex';

/** An operand of a command. chain holds the field names that follow it without a space (`$x.A.B`, `(…).A`). */
export type Arg =
  | { t: 'field'; chain: string[]; src: string; pos: number }
  | { t: 'dot'; src: string; pos: number }
  | { t: 'var'; name: string; chain: string[]; src: string; pos: number }
  | { t: 'func'; name: string; src: string; pos: number }
  | { t: 'pipe'; pipe: Pipe; chain: string[]; src: string; pos: number }
  | { t: 'literal'; value: string | number | boolean | null; float?: boolean; src: string; pos: number };

/** One command of a pipeline: a function, field or literal with its arguments. */
export interface Cmd {
  args: Arg[];
  src: string;
  pos: number;
}

/** A pipeline, with the variables it declares or assigns. */
export interface Pipe {
  decl: string[];
  assign: boolean;
  cmds: Cmd[];
  pos: number;
}

/** A node of the template tree. */
export type TemplateNode =
  | { t: 'text'; text: string }
  | { t: 'action'; pipe: Pipe }
  | BlockNode
  | { t: 'break' | 'continue'; pos: number };

/** An {{if}}, {{with}} or {{range}} block with its {{else}} part. */
export interface BlockNode {
  t: 'if' | 'with' | 'range';
  pipe: Pipe;
  list: TemplateNode[];
  otherwise?: TemplateNode[];
}

/** Parses src; funcs are the function names the template may call (others are a parse error). */
export function parseTemplate(src: string, funcs: ReadonlySet<string>): TemplateNode[] {
  const p = new Parser(src, lex(src), funcs);
  const list = p.list([], 0);
  if (list.end !== 'eof') throw parseError(src, list.pos, `unexpected {{${list.end}}}`);
  return list.nodes;
}

type ListEnd = { nodes: TemplateNode[]; end: 'eof' | 'end' | 'else'; pos: number; elseTok?: number };

class Parser {
  private i = 0;

  constructor(private readonly src: string, private readonly toks: Token[], private readonly funcs: ReadonlySet<string>) {}

  private peek(k = 0): Token {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)];
  }

  private next(): Token {
    return this.toks[this.i++];
  }

  private fail(tok: Token, what: string): TemplateError {
    return parseError(this.src, tok.pos, what);
  }

  private expectClose(ctx: string): void {
    const t = this.next();
    if (t.kind !== 'close') throw this.fail(t, `unexpected ${describe(t)} in ${ctx}`);
  }

  /** Parses nodes until {{end}}, {{else}} or the end of input; vars are the variables in scope. */
  list(vars: string[], depth: number): ListEnd {
    const nodes: TemplateNode[] = [];
    while (true) {
      const t = this.next();
      if (t.kind === 'eof') return { nodes, end: 'eof', pos: t.pos };
      if (t.kind === 'text') { nodes.push({ t: 'text', text: t.text }); continue; }
      const kw = this.peek();
      if (kw.kind === 'ident' && ['end', 'else'].includes(kw.text)) {
        this.next();
        if (kw.text === 'end') this.expectClose('end');
        return { nodes, end: kw.text as 'end' | 'else', pos: kw.pos, elseTok: this.i };
      }
      if (kw.kind === 'ident' && ['if', 'with', 'range'].includes(kw.text)) {
        this.next();
        nodes.push(this.control(kw.text as 'if' | 'with' | 'range', vars, depth));
        continue;
      }
      if (kw.kind === 'ident' && ['break', 'continue'].includes(kw.text)) {
        this.next();
        if (!vars.includes(' range')) throw this.fail(kw, `{{${kw.text}}} outside {{range}}`);
        this.expectClose(kw.text);
        nodes.push({ t: kw.text as 'break' | 'continue', pos: kw.pos });
        continue;
      }
      if (kw.kind === 'ident' && ['define', 'template', 'block'].includes(kw.text)) throw this.fail(kw, `{{${kw.text}}} is not supported`);
      const pipe = this.pipeline('command', vars, 'close');
      nodes.push({ t: 'action', pipe });
    }
  }

  /** Parses an if/with/range block after its keyword (else-if and else-with chains included). */
  private control(kind: 'if' | 'with' | 'range', outer: string[], depth: number): TemplateNode {
    const vars = [...outer];
    const pipe = this.pipeline(kind, vars, 'close');
    const inner = kind === 'range' ? [...vars, ' range'] : vars;
    const body = this.list(inner, depth + 1);
    if (body.end === 'eof') throw this.fail(this.peek(), 'unexpected EOF');
    let otherwise: TemplateNode[] | undefined;
    if (body.end === 'else') {
      const t = this.peek();
      if (t.kind === 'ident' && (t.text === 'if' || t.text === 'with') && kind !== 'range') {
        // {{else if …}} is {{else}}{{if …}}…{{end}} sharing the outer {{end}}.
        this.next();
        otherwise = [this.control(t.text as 'if' | 'with', vars, depth)];
      } else {
        this.expectClose('else');
        const rest = this.list(vars, depth + 1);
        if (rest.end !== 'end') throw this.fail(this.peek(), rest.end === 'eof' ? 'unexpected EOF' : 'unexpected {{else}}');
        otherwise = rest.nodes;
      }
    }
    return { t: kind, pipe, list: body.nodes, otherwise };
  }

  /** Parses a pipeline up to its closing token ('close' = "}}", 'rparen' = ")"). */
  pipeline(ctx: string, vars: string[], until: 'close' | 'rparen'): Pipe {
    const start = this.peek();
    const pipe: Pipe = { decl: [], assign: false, cmds: [], pos: start.pos };
    this.declarations(pipe, ctx, vars);
    while (true) {
      const t = this.peek();
      if (t.kind === until) {
        this.next();
        if (!pipe.cmds.length) throw this.fail(t, `missing value for ${ctx}`);
        return pipe;
      }
      if (t.kind === 'eof' || t.kind === 'close' || t.kind === 'rparen') throw this.fail(t, t.kind === 'eof' ? 'unclosed action' : `unexpected ${describe(t)} in ${ctx}`);
      pipe.cmds.push(this.command(vars, until));
      if (this.peek().kind === 'pipe') {
        const bar = this.next();
        if (this.peek().kind === until || this.peek().kind === 'pipe') throw this.fail(bar, 'missing command');
      }
    }
  }

  /** Reads `$x :=`, `$x =` or `$i, $e :=` at the start of a pipeline. */
  private declarations(pipe: Pipe, ctx: string, vars: string[]): void {
    const a = this.peek(), b = this.peek(1), c = this.peek(2), d = this.peek(3);
    if (a.kind !== 'var') return;
    if (b.kind === 'declare' || b.kind === 'assign') {
      if (b.kind === 'assign' && !vars.includes(a.text)) throw this.fail(a, `undefined variable "${a.text}"`);
      this.i += 2;
      pipe.decl = [a.text];
      pipe.assign = b.kind === 'assign';
    } else if (b.kind === 'comma' && c.kind === 'var' && (d.kind === 'declare' || d.kind === 'assign') && ctx === 'range') {
      this.i += 4;
      pipe.decl = [a.text, c.text];
      pipe.assign = d.kind === 'assign';
    } else return;
    if (!pipe.assign) vars.push(...pipe.decl);
  }

  /** Parses one command: operands up to "|" or the pipeline's end. */
  private command(vars: string[], until: 'close' | 'rparen'): Cmd {
    const first = this.peek();
    const args: Arg[] = [];
    while (![until, 'pipe', 'eof'].includes(this.peek().kind)) {
      const t = this.peek();
      if (args.length && !t.spaced && t.kind !== 'rparen') throw this.fail(t, `missing space?`);
      args.push(this.operand(vars));
    }
    if (!args.length) throw this.fail(this.peek(), 'empty command');
    const endPos = this.peek().pos;
    return { args, pos: first.pos, src: this.src.slice(first.pos, endPos).trim() };
  }

  /** Parses one operand (a term and the fields chained to it). */
  private operand(vars: string[]): Arg {
    const t = this.next();
    const src = () => this.src.slice(t.pos, this.peek().pos).trim();
    // Go places a chained operand (`.A.B`, `$x.A`, `(…).A`) at its first chained field.
    let chainPos = t.pos;
    const chain = () => {
      const names: string[] = [];
      if (this.peek().kind === 'field' && !this.peek().spaced) chainPos = this.peek().pos;
      while (this.peek().kind === 'field' && !this.peek().spaced) names.push(this.next().text);
      return names;
    };
    switch (t.kind) {
      case 'field': { const c = [t.text, ...chain()]; return { t: 'field', chain: c, src: src(), pos: chainPos }; }
      case 'dot': if (this.peek().kind === 'field' && !this.peek().spaced) throw this.fail(t, 'unexpected . after term "."'); return { t: 'dot', src: '.', pos: t.pos };
      case 'var': {
        if (!vars.includes(t.text) && t.text !== '$') throw this.fail(t, `undefined variable "${t.text}"`);
        const c = chain();
        return { t: 'var', name: t.text, chain: c, src: src(), pos: chainPos };
      }
      case 'lparen': {
        const pipe = this.pipeline('parenthesized pipeline', vars, 'rparen');
        const c = chain();
        return { t: 'pipe', pipe, chain: c, src: src(), pos: chainPos };
      }
      case 'string': return { t: 'literal', value: t.text, src: src(), pos: t.pos };
      case 'char': return { t: 'literal', value: Number(t.text), src: src(), pos: t.pos };
      case 'number': return this.number(t);
      case 'ident':
        if (t.text === 'true' || t.text === 'false') return { t: 'literal', value: t.text === 'true', src: t.text, pos: t.pos };
        if (t.text === 'nil') return { t: 'literal', value: null, src: 'nil', pos: t.pos };
        if (!this.funcs.has(t.text)) throw this.fail(t, `function "${t.text}" not defined`);
        return { t: 'func', name: t.text, src: t.text, pos: t.pos };
      default: throw this.fail(t, `unexpected ${describe(t)} in operand`);
    }
  }

  private number(t: Token): Arg {
    const text = t.text.replace(/_/g, '');
    const float = /[.eE]/.test(text) && !/^[+-]?0[xX]/.test(text);
    const value = float ? Number(text) : text.includes('x') || text.includes('X') ? parseInt(text, 16) : Number(text);
    if (Number.isNaN(value)) throw this.fail(t, `bad number syntax: "${t.text}"`);
    return { t: 'literal', value, float, src: t.text, pos: t.pos };
  }
}

/** How Go names a token in its "unexpected …" errors. */
function describe(t: Token): string {
  if (t.kind === 'eof') return 'EOF';
  if (t.kind === 'close') return '"}}"';
  if (t.kind === 'string') return `"${t.text}"`;
  return `"${t.text}"`;
}
