/** A real HOCON parser for the tests: @pushcorn/hocon-parser, CommonJS without type declarations. */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const parseHoconText = require("@pushcorn/hocon-parser") as (options: {
    text: string;
    strict: boolean;
}) => Promise<unknown>;

/** Parses HOCON text as the spec says (strict mode: no extensions, no string-to-number guessing). */
export function parseHocon(text: string): Promise<unknown> {
    return parseHoconText({ text, strict: true });
}
