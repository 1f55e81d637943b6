/**
 * The mqtt-edge Pulumi program: validates the stack configuration before anything is declared,
 * then composes the target it names. `pulumi up -s <stack>`; outputs are the stack's exports.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "./stack-config.ts";

const stack = loadStackConfig();
const context = {
    stack: pulumi.getStack(),
    now: new Date(),
    projectDir: new URL("..", import.meta.url).pathname,
};

async function compose() {
    if (stack.config.target === "aws") {
        const { createAwsEdge } = await import("./aws-edge.ts");
        return createAwsEdge(stack, {
            ...context,
            region: new pulumi.Config("aws").require("region"),
        });
    }
    const { createDockerEdge } = await import("./docker-edge.ts");
    return createDockerEdge(stack, { ...context, docker: stack.config.docker });
}

export default await compose();
