/** The executor of Go's text/template over Go values (values.ts), with Go's rules for fields, pipelines and scopes. */
import { ArgTypeError, ExecError, FUNCS, FUNC_NAMES, type TemplateFunc } from './funcs';
import { TemplateError } from './lex';
import { parseTemplate, type Arg, type BlockNode, type Cmd, type Pipe, type TemplateNode } from './parse';
import { GoFloat, GoMap, GoStruct, isMap, isTrue, mapEntries, printAction, typeName, type GoMethod, type GoValue } from './values';

/** Options of one execution. */
export interface ExecOptions {
  /** missingkey=error: a missing map key fails instead of printing "<no value>" (docker inspect's raw fallback). */
  missingKeyError?: boolean;
  /** The data is a decoded JSON document: every value has Go's static type interface {} (as errors say). */
  untyped?: boolean;
  /** Functions replacing the defaults (Docker's header functions). */
  funcs?: Record<string, TemplateFunc>;
}

/** Thrown through the tree by {{break}} and {{continue}}. */
class LoopSignal {
  constructor(readonly kind: 'break' | 'continue') {}
}

/** A parsed template, ready to run on many values. */
export class Template {
  private constructor(private readonly src: string, private readonly tree: TemplateNode[]) {}

  /** Parses src; throws TemplateError with Go's wording ("template: :1: function \"x\" not defined"). */
  static parse(src: string): Template {
    return new Template(src, parseTemplate(src, FUNC_NAMES));
  }

  /** Runs the template on data; throws TemplateError with Go's execution wording. */
  execute(data: GoValue, opts: ExecOptions = {}): string {
    const run = new Run(this.src, data, opts);
    run.walk(data, this.tree);
    return run.out.join('');
  }
}

class Run {
  readonly out: string[] = [];
  private vars: [string, GoValue][];
  private readonly funcs: Record<string, TemplateFunc>;

  constructor(private readonly src: string, data: GoValue, private readonly opts: ExecOptions) {
    this.vars = [['$', data]];
    this.funcs = { ...FUNCS, ...opts.funcs };
  }

  /** Go's "template: :LINE:COL: executing "" at <NODE>: what". */
  private fail(pos: number, node: string, what: string): TemplateError {
    const before = this.src.slice(0, pos);
    const line = 1 + (before.match(/\n/g)?.length ?? 0);
    const col = pos - (before.lastIndexOf('\n') + 1);
    return new TemplateError(`template: :${line}:${col}: executing "" at <${node}>: ${what}`);
  }

  walk(dot: GoValue, nodes: TemplateNode[]): void {
    for (const n of nodes) {
      switch (n.t) {
        case 'text': this.out.push(n.text); break;
        case 'action': {
          const v = this.pipeline(dot, n.pipe);
          if (!n.pipe.decl.length) this.out.push(printAction(v));
          break;
        }
        case 'if': case 'with': this.conditional(dot, n); break;
        case 'range': this.range(dot, n); break;
        case 'break': case 'continue': throw new LoopSignal(n.t);
      }
    }
  }

  /** Runs list with its own variable scope, as every block has. */
  private scoped(fn: () => void): void {
    const mark = this.vars.length;
    try {
      fn();
    } finally {
      this.vars.length = mark;
    }
  }

  private conditional(dot: GoValue, n: BlockNode): void {
    this.scoped(() => {
      const v = this.pipeline(dot, n.pipe);
      if (isTrue(v)) this.walk(n.t === 'with' ? v : dot, n.list);
      else if (n.otherwise) this.walk(dot, n.otherwise);
    });
  }

  private range(dot: GoValue, n: BlockNode): void {
    this.scoped(() => {
      const v = this.pipeline(dot, { ...n.pipe, decl: [] });
      let items: [GoValue, GoValue][];
      if (Array.isArray(v)) items = v.map((x, i) => [i, x]);
      else if (isMap(v)) items = mapEntries(v);
      else if (v === undefined || v === null) items = [];
      else if (typeof v === 'number') items = Array.from({ length: Math.max(0, v) }, (_x, i) => [i, i]);
      else throw this.fail(n.pipe.pos, n.pipe.cmds[0].src, `range can't iterate over ${printAction(v)}`);
      if (!items.length) {
        if (n.otherwise) this.walk(dot, n.otherwise);
        return;
      }
      const mark = this.vars.length;
      for (const [k, x] of items) {
        this.vars.length = mark;
        // {{range $e := …}} binds the element; {{range $i, $e := …}} the key (or index) and the element.
        if (n.pipe.decl.length === 1) this.setVar(n.pipe, n.pipe.decl[0], x);
        if (n.pipe.decl.length === 2) { this.setVar(n.pipe, n.pipe.decl[0], k); this.setVar(n.pipe, n.pipe.decl[1], x); }
        try {
          this.walk(x, n.list);
        } catch (err) {
          if (!(err instanceof LoopSignal)) throw err;
          if (err.kind === 'break') break;
        }
      }
    });
  }

  private setVar(pipe: Pipe, name: string, v: GoValue): void {
    if (pipe.assign) {
      for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i][0] === name) { this.vars[i][1] = v; return; }
    }
    this.vars.push([name, v]);
  }

  private pipeline(dot: GoValue, pipe: Pipe): GoValue {
    let v: GoValue | typeof NONE = NONE;
    for (const cmd of pipe.cmds) v = this.command(dot, cmd, v);
    const value = v === NONE ? undefined : v;
    for (const name of pipe.decl) this.setVar(pipe, name, value);
    return value;
  }

  private command(dot: GoValue, cmd: Cmd, final: GoValue | typeof NONE): GoValue {
    const [head, ...rest] = cmd.args;
    switch (head.t) {
      case 'field': return this.fieldChain(dot, dot, head.chain, head, rest, final);
      case 'var': {
        const v = this.variable(head);
        if (!head.chain.length) { this.noArgs(head, rest, final); return v; }
        return this.fieldChain(dot, v, head.chain, head, rest, final);
      }
      case 'pipe': {
        const v = this.pipeline(dot, head.pipe);
        if (!head.chain.length) { this.noArgs(head, rest, final); return v; }
        return this.fieldChain(dot, v, head.chain, head, rest, final);
      }
      case 'func': return this.call(dot, head, rest, final);
      case 'dot': this.noArgs(head, rest, final); return dot;
      case 'literal': this.noArgs(head, rest, final); return literal(head);
    }
  }

  /** A non-function operand given arguments is Go's "can't give argument to non-function". */
  private noArgs(head: Arg, rest: Arg[], final: GoValue | typeof NONE): void {
    if (rest.length || final !== NONE) throw this.fail(head.pos, head.src, `can't give argument to non-function ${head.src}`);
  }

  private variable(a: Extract<Arg, { t: 'var' }>): GoValue {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i][0] === a.name) return this.vars[i][1];
    throw this.fail(a.pos, a.src, `undefined variable: ${a.name}`);
  }

  private arg(dot: GoValue, a: Arg): GoValue {
    switch (a.t) {
      case 'field': return this.fieldChain(dot, dot, a.chain, a, [], NONE);
      case 'var': return a.chain.length ? this.fieldChain(dot, this.variable(a), a.chain, a, [], NONE) : this.variable(a);
      case 'pipe': return a.chain.length ? this.fieldChain(dot, this.pipeline(dot, a.pipe), a.chain, a, [], NONE) : this.pipeline(dot, a.pipe);
      case 'dot': return dot;
      case 'literal': return literal(a);
      case 'func': return this.call(dot, a, [], NONE);
    }
  }

  private call(dot: GoValue, head: Extract<Arg, { t: 'func' }>, rest: Arg[], final: GoValue | typeof NONE): GoValue {
    const lazy = rest.map((a) => () => this.arg(dot, a));
    if (final !== NONE) lazy.push(() => final);
    if (head.name === 'and' || head.name === 'or') {
      if (!lazy.length) throw this.fail(head.pos, head.src, `wrong number of args for ${head.name}: want at least 1 got 0`);
      let v: GoValue;
      for (const get of lazy) {
        v = get();
        if (isTrue(v) === (head.name === 'or')) return v;
      }
      return v;
    }
    const args = lazy.map((get) => get());
    try {
      return this.funcs[head.name](...args);
    } catch (err) {
      if (err instanceof ArgTypeError) {
        const at = rest[err.arg] ?? head;
        throw this.fail(at.pos, at.src, err.message);
      }
      if (err instanceof ExecError) throw this.fail(head.pos, head.name, err.message);
      throw err;
    }
  }

  /** Evaluates .A.B… from receiver; the last name may be a method taking args (and the piped final value). */
  private fieldChain(dot: GoValue, receiver: GoValue, chain: string[], node: Arg, rest: Arg[], final: GoValue | typeof NONE): GoValue {
    let v = receiver;
    chain.forEach((name, i) => {
      const last = i === chain.length - 1;
      v = this.field(dot, v, name, node, last ? rest : [], last ? final : NONE);
    });
    return v;
  }

  private method(dot: GoValue, fn: GoMethod, node: Arg, rest: Arg[], final: GoValue | typeof NONE): GoValue {
    const args = rest.map((a) => this.arg(dot, a));
    if (final !== NONE) args.push(final);
    try {
      return fn(...args);
    } catch (err) {
      if (err instanceof ExecError) throw this.fail(node.pos, node.src, err.message);
      throw err;
    }
  }

  private field(dot: GoValue, receiver: GoValue, name: string, node: Arg, rest: Arg[], final: GoValue | typeof NONE): GoValue {
    const hasArgs = rest.length > 0 || final !== NONE;
    if (receiver === undefined) {
      if (this.opts.missingKeyError) throw this.fail(node.pos, node.src, `nil data; no entry for key "${name}"`);
      return undefined;
    }
    if (receiver instanceof GoStruct) {
      const m = receiver.member(name);
      if (m && 'method' in m) return this.method(dot, m.method, node, rest, final);
      if (m) {
        if (hasArgs) throw this.fail(node.pos, node.src, `${name} has arguments but cannot be invoked as function`);
        return m.value;
      }
      throw this.fail(node.pos, node.src, `can't evaluate field ${name} in type ${typeName(receiver)}`);
    }
    const mapMethod = receiver instanceof GoMap ? receiver.extra.methods?.[name] : undefined;
    if (mapMethod) return this.method(dot, mapMethod, node, rest, final);
    if (isMap(receiver)) {
      if (hasArgs) throw this.fail(node.pos, node.src, `${name} is not a method but has arguments`);
      const entries = receiver instanceof GoMap ? receiver.entries : receiver;
      if (name in entries) return entries[name];
      if (this.opts.missingKeyError) throw this.fail(node.pos, node.src, `map has no entry for key "${name}"`);
      return undefined;
    }
    if (receiver === null) throw this.fail(node.pos, node.src, `nil pointer evaluating interface {}.${name}`);
    throw this.fail(node.pos, node.src, `can't evaluate field ${name} in type ${this.opts.untyped ? 'interface {}' : typeName(receiver)}`);
  }
}

/** "No value piped in yet" (distinct from undefined, Go's invalid value). */
const NONE = Symbol('none');

function literal(a: Extract<Arg, { t: 'literal' }>): GoValue {
  return a.float ? new GoFloat(a.value as number) : a.value;
}
