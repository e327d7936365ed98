#!/usr/bin/env python3
"""An S3 client independent of kloset (boto3), for filling and inspecting test buckets.

  s3tool.py ENDPOINT KEY SECRET fill BUCKET [--tags]   put the awkward-keys fixture
  s3tool.py ENDPOINT KEY SECRET dump BUCKET [PREFIX]    JSON: every object's bytes hash, headers, tags
  s3tool.py ENDPOINT KEY SECRET put BUCKET KEY TEXT     one object
  s3tool.py ENDPOINT KEY SECRET many BUCKET PREFIX N    N small objects PREFIX00000.txt ...
  s3tool.py ENDPOINT KEY SECRET delete BUCKET KEY       delete one object
  s3tool.py ENDPOINT KEY SECRET meta BUCKET KEY K=V     replace an object's user metadata
  s3tool.py ENDPOINT KEY SECRET sse BUCKET [KEYFILE]    JSON: each object's encryption headers
                                                        (KEYFILE: SSE-C key to read with)
  s3tool.py ENDPOINT KEY SECRET get BUCKET KEY          exit 0 if a plain GET works, 1 if refused
  s3tool.py ENDPOINT KEY SECRET putc BUCKET KEY TEXT KEYFILE   one object, SSE-C encrypted
  s3tool.py ENDPOINT KEY SECRET classes BUCKET          JSON: each object's storage class
  s3tool.py ENDPOINT KEY SECRET retention BUCKET        JSON: each current object's retain-until date
  s3tool.py ENDPOINT KEY SECRET expire BUCKET SECS      shorten every retention to SECS from now
                                                        (governance bypass: what an admin may do)
  s3tool.py ENDPOINT KEY SECRET big BUCKET KEY MIB [SEED [PART_MIB]]
                                                        a pseudo-random object of MIB MiB (from
                                                        SEED; a multipart upload in PART_MIB parts)
  s3tool.py ENDPOINT KEY SECRET uploads BUCKET          JSON: multipart uploads in progress
  s3tool.py ENDPOINT KEY SECRET openupload BUCKET KEY   start a multipart upload and leave it open
  s3tool.py ENDPOINT KEY SECRET history BUCKET          a versioned, Object Lock bucket with a history:
                                                        versions, delete markers, ACL, lock, checksum;
                                                        prints the time between its two phases
  s3tool.py ENDPOINT KEY SECRET vbucket BUCKET          an empty bucket with versioning and Object Lock
  s3tool.py ENDPOINT KEY SECRET versions BUCKET         JSON: every key's versions and delete markers,
                                                        oldest first, with content hash, headers, tags
  s3tool.py ENDPOINT KEY SECRET extras BUCKET KEY       JSON: the current version's ACL grants, lock
                                                        state and SHA-256 checksum
"""
import hashlib
import json
import os
import random
import sys

os.environ.pop("AWS_CA_BUNDLE", None)
import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

endpoint, key, secret, cmd, bucket, *rest = sys.argv[1:]
s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    aws_access_key_id=key,
    aws_secret_access_key=secret,
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
)

# Every awkward key shape, and every metadata kind, in one bucket.
FIXTURE = [
    ("dir/file.txt", b"inside a folder with a marker\n", {"ContentType": "text/plain"}),
    ("a", b"a file named a\n", {"ContentType": "text/plain", "Metadata": {"role": "file"}}),
    ("a/b", b"a file inside a folder named a\n", {}),
    ("a//b", b"double slash\n", {"CacheControl": "max-age=60"}),
    ("/leading-slash", b"leading slash\n", {}),
    ("with space/file name.txt", b"spaces\n", {"ContentLanguage": "en-GB"}),
    ("unicode/日本語/ファイル.txt", "unicode ✓\n".encode(), {"ContentType": "text/plain; charset=utf-8"}),
    ("percent/100%25 sure%2Fnot-a-slash", b"percent signs\n", {}),
    ("long/" + "k" * 1000, b"a key near the 1024-byte limit\n", {}),
    ("meta/everything.json", b'{"all": "metadata"}\n', {
        "ContentType": "application/json",
        "ContentEncoding": "identity",
        "ContentDisposition": 'attachment; filename="everything.json"',
        "ContentLanguage": "fr",
        "CacheControl": "no-cache",
        "Metadata": {"owner": "alice", "project": "kloset-test"},
    }),
    ("2024/01/photo.jpg", bytes(random.Random(7).getrandbits(8) for _ in range(200_000)), {"ContentType": "image/jpeg"}),
    ("2024/02/notes.md", b"# notes\n" * 1000, {"ContentType": "text/markdown"}),
    ("no-content-type", b"stored without a content type\n", {}),
]
# Garage 2.5 stalls the next request on a connection that carried an empty PUT: put it last.
FOLDER_MARKER = "dir/"
TAGS = {"meta/everything.json": "team=storage&tier=gold", "a": "kind=file"}


def ensure_bucket():
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    except Exception as e:  # noqa: BLE001
        if "BucketAlreadyExists" not in str(e) and "BucketAlreadyOwnedByYou" not in str(e):
            raise


def fill(with_tags):
    ensure_bucket()
    for k, body, extra in FIXTURE:
        args = dict(Bucket=bucket, Key=k, Body=body, **extra)
        if with_tags and k in TAGS:
            args["Tagging"] = TAGS[k]
        s3.put_object(**args)
    big(bucket, "big/object.bin", 20)
    s3.put_object(Bucket=bucket, Key=FOLDER_MARKER, Body=b"")


def big(b, k, mib, seed=None, part_mib=None):
    rng = random.Random(mib if seed is None else seed)
    data = rng.randbytes(int(mib) * 1024 * 1024)
    extra = dict(ContentType="application/octet-stream", Metadata={"size": f"{mib}MiB"})
    if part_mib is None:
        s3.put_object(Bucket=b, Key=k, Body=data, **extra)
        return
    import io
    from boto3.s3.transfer import TransferConfig
    part = int(part_mib) * 1024 * 1024
    config = TransferConfig(multipart_threshold=part, multipart_chunksize=part)
    s3.upload_fileobj(io.BytesIO(data), b, k, ExtraArgs=extra, Config=config)


HEADERS = ["ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage", "CacheControl", "Metadata", "StorageClass"]


def dump(prefix):
    out = {}
    token = None
    while True:
        args = dict(Bucket=bucket, Prefix=prefix)
        if token:
            args["ContinuationToken"] = token
        page = s3.list_objects_v2(**args)
        for o in page.get("Contents", []):
            k = o["Key"]
            obj = s3.get_object(Bucket=bucket, Key=k)
            body = obj["Body"].read()
            entry = {"size": len(body), "md5": hashlib.md5(body).hexdigest()}
            for h in HEADERS:
                if h in obj and obj[h] not in (None, "", {}):
                    entry[h] = obj[h]
            try:
                tags = s3.get_object_tagging(Bucket=bucket, Key=k)["TagSet"]
                entry["Tags"] = {t["Key"]: t["Value"] for t in tags}
            except Exception:  # noqa: BLE001 - servers without tagging
                entry["Tags"] = None
            out[k[len(prefix):]] = entry
        if not page.get("IsTruncated"):
            break
        token = page["NextContinuationToken"]
    print(json.dumps(out, sort_keys=True, ensure_ascii=False))


def versioned_bucket():
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def history():
    import datetime
    import time
    versioned_bucket()
    put = lambda k, body, **kw: (s3.put_object(Bucket=bucket, Key=k, Body=body, **kw), time.sleep(0.05))
    put("notes/a.txt", b"one\n", ContentType="text/plain", Metadata={"rev": "1"}, Tagging="t=1")
    put("notes/a.txt", b"two\n", ContentType="text/markdown", Metadata={"rev": "2"}, Tagging="t=2")
    put("gone.txt", b"bye\n", ContentType="text/plain")
    until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    put("plain.bin", b"locked and checked\n", ChecksumAlgorithm="SHA256",
        ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until, ObjectLockLegalHoldStatus="ON")
    s3.put_object_acl(Bucket=bucket, Key="plain.bin", ACL="public-read")
    # Listings give whole seconds: entries of one key are a second apart where a delete
    # marker sits between versions, so that their order is plain to every reader.
    time.sleep(1.1)
    middle = datetime.datetime.now(datetime.timezone.utc)
    time.sleep(1.1)
    s3.delete_object(Bucket=bucket, Key="notes/a.txt")
    time.sleep(1.1)
    put("notes/a.txt", b"three\n", ContentType="text/plain", Metadata={"rev": "3"})
    s3.delete_object(Bucket=bucket, Key="gone.txt")
    put("later.txt", b"written after the middle\n")
    print(middle.isoformat())


def versions():
    out = {}
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
    for page in pages:
        # Each kind is listed newest first; in a second shared by several entries of a key
        # (moto and boto3 cannot order them), the latest entry is last and versions come
        # before delete markers.
        entries = [(v, False) for v in page.get("Versions", [])][::-1] + [(d, True) for d in page.get("DeleteMarkers", [])][::-1]
        for i, (e, marker) in enumerate(entries):
            out.setdefault(e["Key"], []).append(((e["LastModified"], e["IsLatest"], marker, i), e, marker))
    result = {}
    for k, entries in out.items():
        entries.sort(key=lambda x: x[0])
        listed = []
        for _, e, marker in entries:
            if marker:
                listed.append({"delete_marker": True})
                continue
            obj = s3.get_object(Bucket=bucket, Key=k, VersionId=e["VersionId"])
            body = obj["Body"].read()
            entry = {"md5": hashlib.md5(body).hexdigest()}
            for h in HEADERS:
                if h in obj and obj[h] not in (None, "", {}):
                    entry[h] = obj[h]
            tags = s3.get_object_tagging(Bucket=bucket, Key=k, VersionId=e["VersionId"])["TagSet"]
            entry["Tags"] = {t["Key"]: t["Value"] for t in tags}
            listed.append(entry)
        result[k] = listed
    print(json.dumps(result, sort_keys=True, ensure_ascii=False))


def extras(k):
    acl = s3.get_object_acl(Bucket=bucket, Key=k)
    grants = sorted((g["Grantee"].get("URI") or g["Grantee"].get("ID", ""), g["Permission"]) for g in acl["Grants"])
    head = s3.head_object(Bucket=bucket, Key=k, ChecksumMode="ENABLED")
    print(json.dumps({
        "grants": grants,
        "mode": head.get("ObjectLockMode"),
        "until": head["ObjectLockRetainUntilDate"].isoformat() if "ObjectLockRetainUntilDate" in head else None,
        "hold": head.get("ObjectLockLegalHoldStatus"),
        "sha256": head.get("ChecksumSHA256"),
    }, sort_keys=True))


if cmd == "history":
    history()
elif cmd == "vbucket":
    versioned_bucket()
elif cmd == "versions":
    versions()
elif cmd == "extras":
    extras(rest[0])
elif cmd == "fill":
    fill("--tags" in rest)
elif cmd == "dump":
    dump(rest[0] if rest else "")
elif cmd == "put":
    ensure_bucket()
    s3.put_object(Bucket=bucket, Key=rest[0], Body=rest[1].encode())
elif cmd == "many":
    ensure_bucket()
    from concurrent.futures import ThreadPoolExecutor
    prefix, n = rest[0], int(rest[1])
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"{prefix}{i:05}.txt",
                                              Body=f"object {i}\n".encode() * (i % 7 + 1)),
                      range(n)))
elif cmd == "delete":
    s3.delete_object(Bucket=bucket, Key=rest[0])
elif cmd == "meta":
    name, value = rest[1].split("=", 1)
    s3.copy_object(Bucket=bucket, Key=rest[0], CopySource={"Bucket": bucket, "Key": rest[0]},
                   Metadata={name: value}, MetadataDirective="REPLACE")
elif cmd == "sse":
    extra = {}
    if rest:
        extra = dict(SSECustomerAlgorithm="AES256", SSECustomerKey=open(rest[0], "rb").read())
    out = {}
    for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        h = s3.head_object(Bucket=bucket, Key=o["Key"], **extra)
        out[o["Key"]] = [h.get("ServerSideEncryption"), h.get("SSEKMSKeyId"), h.get("SSECustomerAlgorithm")]
    print(json.dumps(out, sort_keys=True))
elif cmd == "classes":
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            out[o["Key"]] = o.get("StorageClass", "STANDARD")
    print(json.dumps(out, sort_keys=True))
elif cmd == "retention":
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            h = s3.head_object(Bucket=bucket, Key=o["Key"])
            d = h.get("ObjectLockRetainUntilDate")
            out[o["Key"]] = d.isoformat() if d else None
    print(json.dumps(out, sort_keys=True))
elif cmd == "expire":
    import datetime
    until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=int(rest[0]))
    versions = s3.list_object_versions(Bucket=bucket).get("Versions", [])
    for v in versions:
        s3.put_object_retention(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"],
                                Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until},
                                BypassGovernanceRetention=True)
elif cmd == "putc":
    ensure_bucket()
    s3.put_object(Bucket=bucket, Key=rest[0], Body=rest[1].encode(),
                  SSECustomerAlgorithm="AES256", SSECustomerKey=open(rest[2], "rb").read())
elif cmd == "get":
    try:
        s3.get_object(Bucket=bucket, Key=rest[0])["Body"].read()
    except Exception as e:  # noqa: BLE001
        print(e)
        sys.exit(1)
elif cmd == "big":
    big(bucket, *rest[:4])
elif cmd == "openupload":
    ensure_bucket()
    u = s3.create_multipart_upload(Bucket=bucket, Key=rest[0])
    s3.upload_part(Bucket=bucket, Key=rest[0], UploadId=u["UploadId"], PartNumber=1, Body=b"left behind")
elif cmd == "uploads":
    r = s3.list_multipart_uploads(Bucket=bucket)
    print(json.dumps([u["Key"] for u in r.get("Uploads", [])]))
else:
    sys.exit(__doc__)
