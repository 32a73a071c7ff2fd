#!/usr/bin/env python3
"""bench/setup_vpc.py ENDPOINT NBUCKETS: build in moto what a real instance's probe reads (a VPC,
a subnet on its own route table with an internet gateway and the S3 gateway endpoint, the
instance in it, NBUCKETS buckets named bench-bucket-N with a bucket policy) and print the IMDS
emulator's instance config (JSON) for it."""
import json
import sys

import boto3

endpoint, n = sys.argv[1], int(sys.argv[2])
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
          aws_secret_access_key="bench")
ec2 = boto3.client("ec2", **kw)
s3 = boto3.client("s3", **kw)
vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24",
                           AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
ec2.associate_route_table(RouteTableId=rt, SubnetId=subnet)
ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.us-east-1.s3",
                        VpcEndpointType="Gateway", RouteTableIds=[rt])
sg = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
sg_ids = [g["GroupId"] for g in sg["SecurityGroups"]]
inst = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.micro",
                         SubnetId=subnet)["Instances"][0]
for i in range(n):
    b = f"bench-bucket-{i}"
    s3.create_bucket(Bucket=b)
    s3.put_bucket_policy(Bucket=b, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "bench", "Effect": "Allow", "Principal": "*",
                       "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{b}/*"}]}))
print(json.dumps({
    "role": "bench-role",
    "instance_id": inst["InstanceId"],
    "mac": inst["NetworkInterfaces"][0]["MacAddress"] if inst.get("NetworkInterfaces") else "0e:12:34:56:78:9a",
    "local_ipv4": inst["PrivateIpAddress"],
    "vpc_id": vpc,
    "subnet_id": subnet,
    "vpc_cidrs": ["10.0.0.0/16"],
    "security_group_ids": sg_ids,
}))
