/**
 * What the AWS provider would answer under Pulumi mocks: computed outputs (ids, ARNs, private IPs,
 * DNS names, random results) for the resource types the components read, and the invokes they
 * make. Shared by the component tests (test/aws/aws-mocks.ts) and the whole-program tests.
 */
import { createHash } from "node:crypto";

/** The Debian AMI id the getAmi invoke answers with. */
export const MOCK_AMI_ID = "ami-0d12e0000000000b1";

function hex(name: string, length: number): string {
    return createHash("sha256").update(name).digest("hex").slice(0, length);
}

export function awsResourceOutputs(
    type: string,
    name: string,
    inputs: Record<string, unknown>,
): { id: string; state: Record<string, unknown> } {
    const arn = `arn:aws:mock:eu-west-1:123456789012:${name}`;
    switch (type) {
        case "aws:ec2/instance:Instance": {
            const n = Number.parseInt(hex(name, 4), 16);
            return {
                id: `i-${hex(name, 17)}`,
                state: { ...inputs, arn, privateIp: `10.40.${128 + (n % 64)}.${1 + (n % 250)}` },
            };
        }
        case "aws:ebs/volume:Volume":
            return { id: `vol-${hex(name, 17)}`, state: { ...inputs, arn } };
        case "random:index/randomPassword:RandomPassword":
            // Letters and digits like the real provider with special: false.
            return { id: "none", state: { ...inputs, result: `Rnd${hex(`${name}-secret`, 44)}` } };
        case "aws:ssm/parameter:Parameter":
            return {
                id: String(inputs.name),
                state: {
                    ...inputs,
                    arn: `arn:aws:ssm:eu-west-1:123456789012:parameter${String(inputs.name)}`,
                },
            };
        case "aws:lb/loadBalancer:LoadBalancer":
            return {
                id: arn,
                state: {
                    ...inputs,
                    arn,
                    dnsName: `${name}-0123.elb.eu-west-1.amazonaws.com`,
                    zoneId: "Z2IFOLAFXWLO4F",
                    arnSuffix: `net/${name}/${hex(name, 16)}`,
                },
            };
        case "aws:lb/targetGroup:TargetGroup":
            return {
                id: arn,
                state: { ...inputs, arn, arnSuffix: `targetgroup/${name}/${hex(name, 16)}` },
            };
        case "aws:cloudwatch/logGroup:LogGroup":
            return {
                id: String(inputs.name),
                state: {
                    ...inputs,
                    arn: `arn:aws:logs:eu-west-1:123456789012:log-group:${String(inputs.name)}`,
                },
            };
        case "aws:route53/zone:Zone":
            return {
                id: `Z${hex(name, 12).toUpperCase()}`,
                state: { ...inputs, zoneId: `Z${hex(name, 12).toUpperCase()}` },
            };
        case "aws:ssm/document:Document":
            return { id: name, state: { ...inputs, name, arn } };
        case "aws:ssm/association:Association":
            return {
                id: `assoc-${hex(name, 8)}`,
                state: { ...inputs, associationId: `assoc-${hex(name, 8)}` },
            };
        case "aws:ec2/vpc:Vpc":
            return { id: `vpc-${hex(name, 8)}`, state: { ...inputs, arn } };
        case "aws:iam/instanceProfile:InstanceProfile":
            return { id: name, state: { ...inputs, name, arn } };
        case "aws:iam/role:Role":
            return { id: name, state: { ...inputs, name, arn } };
        default:
            return { id: `${name}-id`, state: { ...inputs, arn } };
    }
}

/** Answers the AWS invokes the components make; undefined for any other token. */
export function answerAwsInvoke(token: string): Record<string, unknown> | undefined {
    if (token === "aws:ec2/getAmi:getAmi") return { id: MOCK_AMI_ID, imageId: MOCK_AMI_ID };
    if (token === "aws:index/getRegion:getRegion") {
        return { id: "eu-west-1", name: "eu-west-1", region: "eu-west-1" };
    }
    return undefined;
}
