/**
 * A host's user-data as it runs, from the inputs a test recorded: launch templates and instances
 * carry it gzip-compressed and base64-encoded (components/aws/user-data-packing.ts).
 */
import { unpackUserData } from "../../components/aws/user-data-packing.ts";

/** The script in an instance's or launch template's recorded inputs. */
export function userDataOf(inputs: Record<string, unknown>): string {
    const packed = inputs.userDataBase64 ?? inputs.userData;
    if (typeof packed !== "string") {
        throw new Error(`no user-data in these inputs: ${Object.keys(inputs).join(", ")}`);
    }
    return unpackUserData(packed);
}
