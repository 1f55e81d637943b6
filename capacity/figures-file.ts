/**
 * Writes measured figures into capacity/measured-figures.json: the benchmarks' `--write-figures`
 * replace their own entries and leave every other entry, and the file's order, alone. The result
 * must still be a file the model accepts (figures.ts), or nothing is written.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type FigureEntry, MEASURED_FIGURES_PATH, parseCapacityFigures } from "./figures.ts";

/** An entry as a benchmark states it. */
export type MeasuredEntry = Omit<FigureEntry, "kind" | "source"> & { kind: "measured" };

/** The file's text with `updates` merged in (replacing entries of the same name). */
export function mergeFigures(
    text: string,
    updates: Readonly<Record<string, MeasuredEntry>>,
): string {
    const current = JSON.parse(text) as Record<string, unknown>;
    const merged: Record<string, unknown> = { ...current };
    for (const [name, entry] of Object.entries(updates)) merged[name] = entry;
    // Throws one line if the model could not read the result.
    parseCapacityFigures(merged, "measured-figures.json after the update");
    return `${JSON.stringify(merged, null, 4)}\n`;
}

/** Merges `updates` into the committed file, whole or not at all. */
export function writeMeasuredFigures(updates: Readonly<Record<string, MeasuredEntry>>): string {
    const path = fileURLToPath(MEASURED_FIGURES_PATH);
    const text = mergeFigures(readFileSync(path, "utf8"), updates);
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, text);
    renameSync(temporary, path);
    return path;
}
