import { describe, expect, it } from 'vitest';
import { BodyReader } from '../../../src/harvester/http.js';
import { OaiParseError, parseOaiResponse } from '../../../src/harvester/oai.js';
import { decodeEntities, walkXml, XmlError } from '../../../src/harvester/xml.js';

const OAI = (body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">` +
  `<responseDate>2024-01-01T00:00:00Z</responseDate><request verb="ListRecords">http://x/oai</request>${body}</OAI-PMH>\n`;
const REC = (inner = '') =>
  `<record><header><identifier>oai:x:1</identifier></header><metadata>${inner}</metadata></record>`;

describe('walkXml', () => {
  it('accepts well-formed documents with comments, CDATA, PIs, entities and prefixes', () => {
    const names: string[] = [];
    let text = '';
    walkXml(
      '\uFEFF<?xml version="1.0"?><!-- c --><!DOCTYPE a><a x=\'1\' y="&lt;&#65;&#x42;"><b:c/>t&amp;u<![CDATA[<raw>&]]><?pi x?></a>\n<!-- end -->',
      {
        start: (n, attrs) => names.push(`${n}${attrs.y ? `[${attrs.y}]` : ''}`),
        text: (t) => (text += t),
      },
    );
    expect(names).toEqual(['a[<AB]', 'b:c']);
    expect(text).toBe('t&u<raw>&');
  });

  it.each([
    ['<a><b></a>', /does not match/],
    ['<a>', /end of document inside <a>/],
    ['<a><b>text', /end of document/],
    ['<a x="1', /end of document|malformed/],
    ['<a>x & y</a>', /bare or unknown entity/],
    ['<a>&nbsp;</a>', /unknown entity/],
    ['<a x=1></a>', /malformed start tag/],
    ['<a></a><b></b>', /second root/],
    ['text<a></a>', /text outside the root/],
    ['<a><!-- x</a>', /unterminated comment/],
    ['<a><![CDATA[x</a>', /unterminated CDATA/],
    ['<a x="1" x="2"/>', /duplicate attribute/],
    ['<!DOCTYPE a [<!ENTITY e "x">]><a/>', /internal subset/],
    ['', /no root element/],
    ['<a>]]></a>', /"]]>"/],
  ])('rejects %j', (xml, msg) => {
    expect(() => walkXml(xml)).toThrow(XmlError);
    expect(() => walkXml(xml)).toThrow(msg);
  });

  it('decodes entities', () => {
    expect(decodeEntities('a&amp;b&lt;&gt;&quot;&apos;&#233;&#x1F600;')).toBe('a&b<>"\'é😀');
  });
});

describe('parseOaiResponse', () => {
  it('counts records and reads the resumptionToken', () => {
    const r = parseOaiResponse(
      OAI(
        `<ListRecords>${REC()}${REC()}<resumptionToken completeListSize="10" cursor="0"> a&amp;b </resumptionToken></ListRecords>`,
      ),
    );
    expect(r).toEqual({
      verb: 'ListRecords',
      records: 2,
      hasResumptionToken: true,
      resumptionToken: 'a&b',
      completeListSize: 10,
      cursor: 0,
      errors: [],
    });
  });

  it('an empty token ends the list; no token at all means a one-page list', () => {
    const last = parseOaiResponse(
      OAI(`<ListRecords>${REC()}<resumptionToken completeListSize="10" cursor="9"/></ListRecords>`),
    );
    expect(last).toMatchObject({
      records: 1,
      hasResumptionToken: true,
      resumptionToken: null,
      completeListSize: 10,
      cursor: 9,
    });
    const one = parseOaiResponse(OAI(`<ListRecords>${REC()}</ListRecords>`));
    expect(one).toMatchObject({ records: 1, hasResumptionToken: false, resumptionToken: null, completeListSize: null });
  });

  it('counts only the records of the list, not elements named record inside metadata', () => {
    const marc =
      '<marc:record xmlns:marc="http://www.loc.gov/MARC21/slim"><marc:leader>x</marc:leader></marc:record><record/>';
    const r = parseOaiResponse(OAI(`<ListRecords>${REC(marc)}${REC()}${REC()}</ListRecords>`));
    expect(r.records).toBe(3);
    const prefixed = parseOaiResponse(
      `<oai:OAI-PMH xmlns:oai="http://www.openarchives.org/OAI/2.0/"><oai:ListRecords><oai:record/><oai:record/></oai:ListRecords></oai:OAI-PMH>`,
    );
    expect(prefixed.records).toBe(2);
  });

  it('reports OAI errors', () => {
    const r = parseOaiResponse(
      OAI(
        '<error code="badResumptionToken">The token &lt;x&gt; expired.</error><error code="badArgument">also</error>',
      ),
    );
    expect(r.verb).toBeNull();
    expect(r.errors).toEqual([
      { code: 'badResumptionToken', message: 'The token <x> expired.' },
      { code: 'badArgument', message: 'also' },
    ]);
  });

  it('rejects truncated pages and responses that are not OAI-PMH', () => {
    const full = OAI(
      `<ListRecords>${REC()}${REC()}<resumptionToken completeListSize="10" cursor="0">t</resumptionToken></ListRecords>`,
    );
    for (let cut = 1; cut < full.trimEnd().length; cut += 7) {
      expect(() => parseOaiResponse(full.slice(0, cut)), `cut at ${cut}`).toThrow(OaiParseError);
    }
    expect(() => parseOaiResponse('<html><body>502 Bad Gateway</body></html>')).toThrow(/not <OAI-PMH>/);
    expect(() => parseOaiResponse(OAI(''))).toThrow(/neither a verb element nor an <error>/);
    expect(() =>
      parseOaiResponse(OAI('<ListRecords><resumptionToken completeListSize="many">t</resumptionToken></ListRecords>')),
    ).toThrow(/completeListSize/);
  });
});

describe('BodyReader (HTTP body framing)', () => {
  const chunked = (parts: string[]) =>
    `${parts.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join('')}0\r\nX-Trailer: 1\r\n\r\n`;

  it('decodes a chunked body fed one byte at a time', () => {
    const parts = ['<OAI-PMH>', 'é'.repeat(300), '</OAI-PMH>'];
    const wire = Buffer.from(chunked(parts));
    const r = new BodyReader('chunked', 0);
    for (let i = 0; i < wire.length; i++) {
      expect(r.done).toBe(false);
      expect(r.push(wire.subarray(i, i + 1))).toBe(true);
    }
    expect(r.done).toBe(true);
    expect(r.body().toString()).toBe(parts.join(''));
  });

  it('rejects a bad chunk size, stops at Content-Length, completes close-delimited bodies at EOF', () => {
    expect(new BodyReader('chunked', 0).push(Buffer.from('zz\r\n'))).toBe(false);
    const l = new BodyReader('length', 5);
    l.push(Buffer.from('abc'));
    expect(l.done).toBe(false);
    l.push(Buffer.from('defgh'));
    expect(l.done).toBe(true);
    expect(l.body().toString()).toBe('abcde');
    const c = new BodyReader('close', 0);
    c.push(Buffer.from('xyz'));
    expect(c.done).toBe(false);
    c.eof();
    expect(c.done).toBe(true);
    expect(c.body().toString()).toBe('xyz');
  });
});
