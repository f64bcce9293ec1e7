/** The Go template subset on its own: syntax, scopes, functions, Go's printing; errors in Go's words. */
import { strict as assert } from 'node:assert';
import { Template } from '../../../../src/cli/format/exec';
import { tabwrite } from '../../../../src/cli/format/tabwriter';
import { displayablePorts, humanDuration } from '../../../../src/cli/format/contexts';
import { typed, NETWORK_RESOURCE } from '../../../../src/cli/format/types';
import { GoFloat, GoStruct, GoTime, formatValue, marshalJson, type GoValue } from '../../../../src/cli/format/values';

const data: GoValue = {
  Name: 'mynet', None: [], N: 3, Zero: 0, Empty: '', T: true, F: false, Nil: null,
  List: ['a', 'b', 'c'], Map: { b: '2', a: '1' }, Nested: { Inner: { Deep: 'x' } }, Items: [{ K: 'k1' }, { K: 'k2' }],
};

const ok: [string, string][] = [
  ['plain text', 'plain text'],
  ['{{.Name}}', 'mynet'],
  ['{{.Nested.Inner.Deep}}', 'x'],
  ['{{.Missing}}', '<no value>'],
  ['{{.Nil}}', '<no value>'],
  ['{{.List}} {{.Map}} {{.Items}}', '[a b c] map[a:1 b:2] [map[K:k1] map[K:k2]]'],
  ['{{json .Map}} {{json .List}} {{json .Nil}} {{json "<&>"}}', '{"a":"1","b":"2"} ["a","b","c"] null "<&>"'],
  ['{{range .List}}[{{.}}]{{end}}', '[a][b][c]'],
  ['{{range $i, $e := .List}}{{$i}}={{$e}} {{end}}', '0=a 1=b 2=c '],
  ['{{range $k, $v := .Map}}{{$k}}{{$v}}{{end}}', 'a1b2'],
  ['{{range .None}}x{{else}}none{{end}}{{range .Missing}}x{{end}}', 'none'],
  ['{{range .List}}{{if eq . "b"}}{{break}}{{end}}{{.}}{{end}}', 'a'],
  ['{{range .List}}{{if eq . "b"}}{{continue}}{{end}}{{.}}{{end}}', 'ac'],
  ['{{if .T}}y{{end}}{{if .F}}n{{else}}e{{end}}{{if .Zero}}z{{else if .N}}n{{end}}', 'yen'],
  ['{{with .Nested.Inner}}{{.Deep}}{{end}}{{with .Empty}}x{{else}}w{{end}}', 'xw'],
  ['{{$x := .Name}}{{range .List}}{{$x}}{{end}}', 'mynetmynetmynet'],
  ['{{$x := 1}}{{if .T}}{{$x = 2}}{{end}}{{$x}}', '2'],
  ['{{range .Items}}{{$.Name}}:{{.K}} {{end}}', 'mynet:k1 mynet:k2 '],
  ['{{index .List 1}} {{index .Map "a"}} {{index .Map "zz"}} {{(index .Items 0).K}}', 'b 1 <no value> k1'],
  ['{{len .List}} {{len .Map}} {{len .Name}} {{len "é"}}', '3 2 5 2'],
  ['{{and .T .N}} {{and .F .N}} {{or .Empty "d"}} {{not .T}}', '3 false d false'],
  ['{{eq .N 3}} {{ne .Name "x"}} {{lt 1 2}} {{ge 2 2}} {{eq .Name "a" "mynet"}}', 'true true true true true'],
  ['{{.Name | printf "%s!"}} {{"x" | printf "%s-%s" "a"}}', 'mynet! a-x'],
  ['{{printf "%5d|%-4s|%q|%v|%t|%x|%05d|%.2f" 42 "ab" "q" .List true 255 7 1.5}}', '   42|ab  |"q"|[a b c]|true|ff|00007|1.50'],
  ['{{printf "%d"}} {{printf "%s" 1 2}}', '%!d(MISSING) %!s(int=1)%!(EXTRA int=2)'],
  ['{{print "a" "b" 1 2 "c"}} {{println 1 "x"}}', 'ab1 2c 1 x\n'],
  ['{{join .List ", "}} {{split "a:b" ":"}} {{upper "x"}} {{title "hello world"}}', 'a, b, c [a b] X Hello World'],
  ['{{slice .List 1 2}} {{slice .Name 2}} {{html "<a&b>"}} {{urlquery "a b&c"}}', '[b] net &lt;a&amp;b&gt; a+b%26c'],
  ['{{1.5}} {{1e6}} {{0x10}} {{\'a\'}} {{-2}} {{true}} {{"\\t\\u00e9"}} {{`raw\\n`}}', '1.5 1e+06 16 97 -2 true \té raw\\n'],
  ['a  {{- .Name -}}  b', 'amynetb'],
  ['a {{/* comment */}} b {{- /* trim */ -}} c', 'a  bc'],
  ['{{(.Nested).Inner.Deep}} {{$n := .Nested}}{{$n.Inner.Deep}}', 'x x'],
];

const bad: [string, RegExp][] = [
  ['{{.Name', /^template: :1: unclosed action$/],
  ['{{if .T}}x', /^template: :1: unexpected EOF$/],
  ['{{end}}', /^template: :1: unexpected \{\{end\}\}$/],
  ['{{else}}', /^template: :1: unexpected \{\{else\}\}$/],
  ['{{nope .X}}', /^template: :1: function "nope" not defined$/],
  ['{{$x}}', /^template: :1: undefined variable "\$x"$/],
  ['{{}}', /^template: :1: missing value for command$/],
  ['{{break}}', /outside \{\{range\}\}/],
  ['{{"abc}}', /unterminated quoted string/],
  ['{{define "x"}}{{end}}', /\{\{define\}\} is not supported/],
  ['\n\n{{.A |}}', /^template: :3: missing command$/],
];

const failing: [string, RegExp][] = [
  ['{{.Name.Foo}}', /^template: :1:7: executing "" at <\.Name\.Foo>: can't evaluate field Foo in type string$/],
  ['{{.Nil.Foo}}', /nil pointer evaluating interface \{\}\.Foo/],
  ['{{index .List 9}}', /error calling index: index out of range: 9/],
  ['{{len .N}}', /error calling len: len of type int/],
  ['{{upper .N}}', /^template: :1:8: executing "" at <\.N>: wrong type for value; expected string; got int$/],
  ['{{eq .N "3"}}', /incompatible types for comparison/],
  ['{{range .N}}{{end}}{{range .T}}{{end}}', /range can't iterate over true/],
  ['{{.Name 1}}', /Name is not a method but has arguments/],
  ['{{join "a"}}', /wrong number of args for join: want 2 got 1/],
];

describe('cli format: Go templates', () => {
  for (const [src, want] of ok) it(`runs ${JSON.stringify(src)}`, () => assert.equal(Template.parse(src).execute(data), want));
  for (const [src, re] of bad) it(`refuses to parse ${JSON.stringify(src)}`, () => assert.throws(() => Template.parse(src), (e: Error) => re.test(e.message)));
  for (const [src, re] of failing) it(`fails to run ${JSON.stringify(src)}`, () => assert.throws(() => Template.parse(src).execute(data), (e: Error) => re.test(e.message)));

  it('errors on a missing key with missingkey=error (docker inspect\'s raw fallback)', () => {
    assert.throws(() => Template.parse('{{.Missing}}').execute(data, { missingKeyError: true }), /map has no entry for key "Missing"/);
  });

  it('prints typed Go values as fmt does', () => {
    const net = typed(NETWORK_RESOURCE, { Name: 'n', Created: '2026-01-02T03:04:05.120Z', IPAM: { Config: [{ Subnet: '10.0.0.0/24' }] } });
    assert.equal(Template.parse('{{.IPAM}}|{{.Created}}|{{.Containers}}|{{.Peers}}').execute(net), '{ map[] [{10.0.0.0/24   map[]}]}|2026-01-02 03:04:05.12 +0000 UTC|map[]|[]');
    assert.equal(marshalJson(Template.parse('{{.}}') && (net as GoStruct).fields[6].value), '{"Driver":"","Options":null,"Config":[{"Subnet":"10.0.0.0/24"}]}');
    const ptr = new GoStruct('T', [{ name: 'A', json: 'a', value: 'x' }, { name: 'B', json: 'b', omitempty: true, value: '' }], { pointer: true });
    assert.equal(formatValue(ptr), '&{x }');
    assert.equal(marshalJson(ptr), '{"a":"x"}');
    assert.equal(new GoTime('2026-01-02T03:04:05+01:30').toString(), '2026-01-02 03:04:05 +0130 +0130');
    assert.deepEqual([0.0001, 123456, 1234567, 1e-5].map((n) => formatValue(new GoFloat(n))), ['0.0001', '123456', '1.234567e+06', '1e-05']);
    assert.equal(marshalJson('a\u2028\x01"\\'), '"a\\u2028\\u0001\\"\\\\"');
  });

  it('aligns table cells as Go\'s tabwriter (minwidth 10, padding 3), block by block', () => {
    assert.equal(tabwrite('A\tBB\tC\nlonger-cell\tx\ty\n\nno tabs\nP\tQ\n'), 'A             BB        C\nlonger-cell   x         y\n\nno tabs\nP         Q\n');
  });

  it('shows ports and ages as docker ps does', () => {
    const p = (ip: string, privatePort: number, publicPort: number, type = 'tcp') => ({ ip, privatePort, publicPort, type });
    assert.equal(displayablePorts([p('0.0.0.0', 81, 81), p('0.0.0.0', 80, 80), p('', 90, 0), p('', 91, 0), p('0.0.0.0', 53, 5353, 'udp'), p('::', 82, 8082)]),
      '0.0.0.0:80-81->80-81/tcp, 90-91/tcp, 0.0.0.0:5353->53/udp, :::8082->82/tcp');
    assert.deepEqual([500, 1000, 5000, 60_000, 150_000, 3_600_000, 5 * 3_600_000, 3 * 86_400_000, 20 * 86_400_000, 90 * 86_400_000, 800 * 86_400_000].map(humanDuration),
      ['Less than a second', '1 second', '5 seconds', 'About a minute', '2 minutes', 'About an hour', '5 hours', '3 days', '2 weeks', '3 months', '2 years']);
  });
});
