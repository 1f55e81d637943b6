/**
 * The HOCON writer under emqx.conf: quoted strings read back exactly (through a real HOCON parser)
 * whatever printable text they hold, and everything it cannot carry is refused, not mangled.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { type HoconObject, hoconString, renderHoconDocument } from "../../templates/hocon.ts";
import { parseHocon } from "../support/hocon.ts";

test("quoted strings round-trip: quotes, backslashes, comments, braces, substitutions", async () => {
    const samples = [
        'say "hi"',
        "back\\slash",
        "ends with a backslash\\",
        '\\"',
        "# not a comment",
        "// not a comment either",
        "{ } [ ] , : = +=",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: HOCON substitution syntax is the payload
        "${HOME}",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: HOCON substitution syntax is the payload
        "${?EMQX_NODE__COOKIE}",
        'include required("x.conf")',
        "  padded  ",
        "",
    ];
    const document: HoconObject = Object.fromEntries(
        samples.map((sample, index) => [`value_${index}`, sample]),
    );
    const text = renderHoconDocument(document);
    assert.equal(text.split("\n").length, samples.length + 1, "one line per value");
    assert.deepEqual(await parseHocon(text), document);
});

test("characters a HOCON string cannot carry are refused, not escaped", () => {
    for (const bad of [
        "line\nbreak",
        "carriage\rreturn",
        "tab\there",
        "\u2028",
        "\u00e9",
        "\x7f",
        "\0",
    ]) {
        assert.throws(() => hoconString(bad), /^Error: HOCON string .* expected printable ASCII/);
    }
});

test("documents: nested blocks, arrays, integers, booleans, omitted keys", async () => {
    const document: HoconObject = {
        node: { name: "emqx@a", max_ports: 2_048_000, cookie: undefined },
        listeners: {
            tcp: { default: { enable: true, access_rules: ["allow 10.0.0.0/8", "deny all"] } },
        },
        flag: false,
    };
    const parsed = await parseHocon(renderHoconDocument(document));
    assert.deepEqual(parsed, {
        flag: false,
        listeners: {
            tcp: { default: { access_rules: ["allow 10.0.0.0/8", "deny all"], enable: true } },
        },
        node: { max_ports: 2_048_000, name: "emqx@a" },
    });
});

test("keys other than lower snake case and non-integers are refused", () => {
    for (const key of ["a.b", "Upper", "a b", "", "1st", "a-b", 'a"']) {
        assert.throws(() => renderHoconDocument({ [key]: 1 }), /^Error: HOCON key .* expected/);
    }
    for (const value of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
        assert.throws(
            () => renderHoconDocument({ outer: { inner: value } }),
            /^Error: HOCON value outer\.inner = .* expected a safe integer$/,
        );
    }
});
