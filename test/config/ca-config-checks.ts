/** What the bring-your-own CA tests assert on a stack configuration, shared by their files. */
import assert from "node:assert/strict";
import { ConfigError, type ParseOptions, parseEdgeConfig } from "../../infra/config.ts";

/**
 * Asserts one ConfigError line that starts with `mqtt-edge:<key> = `, matches `pattern` and shows
 * no key or PEM material.
 */
export function refuses(
    raw: Record<string, unknown>,
    key: string,
    pattern: RegExp,
    options: ParseOptions = {},
): void {
    assert.throws(
        () => parseEdgeConfig(raw, options),
        (e: unknown) => {
            assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
            assert.equal(e.message.split("\n").length, 1, e.message);
            assert.ok(e.message.startsWith(`mqtt-edge:${key} = `), e.message);
            assert.match(e.message, pattern);
            assert.doesNotMatch(e.message, /PRIVATE KEY|MII/, "no key or PEM material");
            return true;
        },
    );
}

/** Warnings about the CA material; the unpinned EMQX repository key is warned about on every AWS stack. */
export const aboutTheCa = (line: string): boolean =>
    !line.startsWith("mqtt-edge:emqx.repositoryKeyFingerprint ");
