/**
 * Man pages from the commander definitions: `tsnet(1)` and one page per command (`tsnet-create(1)`,
 * `tsnet-sandbox-create(1)`, …) with its synopsis, options, subcommands and examples.
 * Usage: node build/src/cli/help/man.js [MANDIR]   (writes MANDIR/man1/*.1; default build/man)
 * `npm run man:install` writes them to /usr/local/share/man, where `man tsnet` looks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command, Option } from 'commander';
import { allCommands, examplesOf } from './examples';

/** Escapes text for roff: backslashes, hyphens, and a leading dot or quote. */
export function roff(text: string): string {
  return text.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^([.'])/gm, '\\&$1');
}

/** A command's words below the root ("sandbox create"). */
function words(cmd: Command): string[] {
  const out: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) out.unshift(c.name());
  return out;
}

/** The page name of cmd: tsnet, tsnet-create, tsnet-sandbox-create. */
export function pageName(cmd: Command): string {
  return ['tsnet', ...words(cmd)].join('-');
}

const hidden = (c: Command) => (c as unknown as { _hidden: boolean })._hidden;

function optionEntry(o: Option): string {
  const flags = o.flags.split(/[ ,|]+/).filter(Boolean).map((f) => (f.startsWith('-') ? `\\fB${roff(f)}\\fR` : `\\fI${roff(f)}\\fR`));
  const dflt = o.defaultValue !== undefined && !Array.isArray(o.defaultValue) && typeof o.defaultValue !== 'boolean' ? ` (default: ${o.defaultValue})` : '';
  return `.TP\n${flags.join(', ').replace(/, (\\fI)/g, ' $1')}\n${roff(o.description + dflt)}\n`;
}

/** The roff text of cmd's page; version goes in the footer. */
export function manPage(cmd: Command, version: string): string {
  const name = pageName(cmd);
  const full = ['tsnet', ...words(cmd)].join(' ');
  let out = `.TH ${name.toUpperCase()} 1 "" "tsnet ${roff(version)}" "tsnet manual"\n`;
  out += `.SH NAME\n${roff(name)} \\- ${roff(cmd.description())}\n`;
  out += `.SH SYNOPSIS\n.B ${roff(full)}\n${roff(cmd.usage())}\n`;
  out += `.SH DESCRIPTION\n${roff(cmd.description())}.\n`;
  const opts = cmd.options.filter((o) => !o.hidden);
  if (opts.length) out += `.SH OPTIONS\n${opts.map(optionEntry).join('')}`;
  if (cmd.parent) {
    let root = cmd;
    while (root.parent) root = root.parent;
    out += `.SH GLOBAL OPTIONS\n${root.options.filter((o) => !o.hidden).map(optionEntry).join('')}`;
  }
  const subs = cmd.commands.filter((c) => !hidden(c));
  if (subs.length) out += `.SH COMMANDS\n${subs.map((c) => `.TP\n\\fB${roff(pageName(c))}\\fR(1)\n${roff(c.description())}\n`).join('')}`;
  const examples = examplesOf(cmd);
  if (examples.length) out += `.SH EXAMPLES\n.PP\n.RS\n.nf\n${examples.map(roff).join('\n')}\n.fi\n.RE\n`;
  const related = [cmd.parent, ...subs].filter((c): c is Command => !!c).map((c) => `\\fB${roff(pageName(c))}\\fR(1)`);
  if (related.length) out += `.SH SEE ALSO\n${related.join(', ')}\n`;
  return out;
}

/** Every page of the tree, by file name (tsnet-create.1 → roff). */
export function manPages(root: Command, version: string): Map<string, string> {
  return new Map(allCommands(root).filter((c) => !hidden(c)).map((c) => [`${pageName(c)}.1`, manPage(c, version)]));
}

/** Writes the pages into mandir/man1; returns the files written. */
export function writeManPages(root: Command, version: string, mandir: string): string[] {
  const dir = path.join(mandir, 'man1');
  fs.mkdirSync(dir, { recursive: true });
  return [...manPages(root, version)].map(([file, text]) => {
    fs.writeFileSync(path.join(dir, file), text);
    return path.join(dir, file);
  });
}

if (require.main === module) {
  // Loaded here, not at the top: the page functions above need no CLI, the generator does.
  const { buildProgram, packageVersion } = require('../main') as typeof import('../main');
  const mandir = path.resolve(process.argv[2] ?? path.join(__dirname, '..', '..', '..', 'man'));
  const files = writeManPages(buildProgram(), packageVersion(), mandir);
  process.stdout.write(`${files.length} man pages in ${path.join(mandir, 'man1')}\n`);
}
