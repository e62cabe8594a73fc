#!/usr/bin/python3
"""Write one VGG-19 in every format internal/weights reads.

From a MatConvNet .mat (default testdata/vgg19-tiny/vgg19-tiny-new.mat) it
writes, next to it, the same weights as

  NAME.pth            torch.save, zip format
  NAME-legacy.pth     torch.save(..., _use_new_zipfile_serialization=False)
  NAME.safetensors    written by hand: 8-byte header length, JSON, data
  NAME-v1.caffemodel  NetParameter with V1 "layers" (field 2), 4-D blob dims
  NAME-v2.caffemodel  NetParameter with V2 "layer" (field 100), BlobShape

with the conventions of MatConvNet's utils/import-caffe.py inverted: the
.mat kernel W[y, x, c, o] is the Caffe/PyTorch kernel K[o, c', y, x], with
c' = 2 - c in conv1_1 (Caffe models read BGR). The fully connected layers
fc6..fc8 are written too (as dummy-shaped classifier tensors and inner
product layers) so that the readers' skipping of them is tested.

With --full DIR it writes instead random weights of VGG-19's real sizes
(548 MB each) as DIR/vgg19-full.pth and DIR/vgg19-full-legacy.pth, to time
the loader; nothing of that is committed.

Run with Debian's python (torch, numpy, scipy): /usr/bin/python3 scripts/make_weight_formats.py
"""

import argparse
import json
import os
import struct
from collections import OrderedDict

import numpy as np

CONV = ["conv1_1", "conv1_2", "conv2_1", "conv2_2",
        "conv3_1", "conv3_2", "conv3_3", "conv3_4",
        "conv4_1", "conv4_2", "conv4_3", "conv4_4",
        "conv5_1", "conv5_2", "conv5_3", "conv5_4"]
# Index of each convolution in torchvision's vgg19().features.
FEATURES = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]
CLASSIFIER = {"fc6": 0, "fc7": 3, "fc8": 6}


def read_mat(path):
    import scipy.io
    d = scipy.io.loadmat(path)
    layers = {}
    order = []
    for l in d["layers"][0]:
        l = l[0, 0]
        name = str(l["name"][0])
        order.append(name)
        if "weights" in l.dtype.names and l["weights"].size:
            w = l["weights"][0]
            layers[name] = (np.asarray(w[0], np.float32), np.asarray(w[1], np.float32).reshape(-1))
    return order, layers


def caffe_kernel(name, w):
    """K[o, c, y, x] from the .mat's W[y, x, c, o]."""
    if name.startswith("fc"):
        # Inner product weights [out, in]; their layout is not read.
        return np.ascontiguousarray(w.reshape(-1, w.shape[3]).T)
    k = w.transpose(3, 2, 0, 1)
    if name == "conv1_1":
        k = k[:, ::-1]
    return np.ascontiguousarray(k, np.float32)


def state_dict(layers):
    import torch
    sd = OrderedDict()
    for name, (w, b) in layers.items():
        if name in CONV:
            key = "features.%d" % FEATURES[CONV.index(name)]
        else:
            key = "classifier.%d" % CLASSIFIER[name]
        sd[key + ".weight"] = torch.from_numpy(caffe_kernel(name, w).copy())
        sd[key + ".bias"] = torch.from_numpy(b.copy())
    return sd


def write_pth(sd, base):
    import torch
    torch.save(sd, base + ".pth")
    torch.save(sd, base + "-legacy.pth", _use_new_zipfile_serialization=False)


def write_safetensors(sd, path):
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for key, t in sd.items():
        data = t.numpy().astype("<f4").tobytes()
        header[key] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # the format pads the header to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


# Protobuf encoding, enough for caffe.proto.
def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(field, wire):
    return varint(field << 3 | wire)


def field_bytes(field, data):
    return tag(field, 2) + varint(len(data)) + data


def field_varint(field, v):
    return tag(field, 0) + varint(v)


def blob(arr, legacy):
    """BlobProto: num/channels/height/width (legacy) or shape, packed data."""
    arr = np.asarray(arr, np.float32)
    out = b""
    if legacy:
        dims = [1] * (4 - arr.ndim) + list(arr.shape)
        for i, d in enumerate(dims):
            out += field_varint(1 + i, d)
    data = field_bytes(5, arr.astype("<f4").tobytes())
    if legacy:
        return out + data
    shape = field_bytes(1, b"".join(varint(d) for d in arr.shape))
    return data + field_bytes(7, shape)  # field order as Caffe writes it


def write_caffe(order, layers, path, v2):
    # V1LayerParameter: bottom 2, top 3, name 4, type 5 (enum), blobs 6.
    # LayerParameter: name 1, type 2 (string), bottom 3, top 4, blobs 7.
    enum = {"conv": 4, "relu": 18, "pool": 17, "fc": 14, "prob": 20}
    text = {"conv": b"Convolution", "relu": b"ReLU", "pool": b"Pooling", "fc": b"InnerProduct", "prob": b"Softmax"}
    net = field_bytes(1, b"VGG_ILSVRC_19_layers")
    net += field_bytes(3, b"data") + b"".join(field_varint(4, d) for d in (10, 3, 224, 224))
    bottom = b"data"
    for name in order:
        kind = next(k for k in enum if name.startswith(k))
        top = name.encode()
        body = b""
        if v2:
            body += field_bytes(1, top) + field_bytes(2, text[kind]) + field_bytes(3, bottom) + field_bytes(4, top)
        else:
            body += field_bytes(2, bottom) + field_bytes(3, top) + field_bytes(4, top) + field_varint(5, enum[kind])
        if name in layers:
            w, b = layers[name]
            for arr in (caffe_kernel(name, w), b):
                body += field_bytes(7 if v2 else 6, blob(arr, legacy=not v2))
        net += field_bytes(100 if v2 else 2, body)
        bottom = top
    with open(path, "wb") as f:
        f.write(net)


def full_state_dict():
    import torch
    g = torch.Generator().manual_seed(1)
    sd, cin, i = OrderedDict(), 3, 0
    widths = [64, 64, 128, 128] + [256] * 4 + [512] * 8
    for n, out in zip(FEATURES, widths):
        sd["features.%d.weight" % n] = torch.rand(out, cin, 3, 3, generator=g) * 0.04 - 0.02
        sd["features.%d.bias" % n] = torch.rand(out, generator=g)
        cin = out
    for n, (o, k) in zip((0, 3, 6), ((4096, 25088), (4096, 4096), (1000, 4096))):
        sd["classifier.%d.weight" % n] = torch.rand(o, k, generator=g) * 0.04 - 0.02
        sd["classifier.%d.bias" % n] = torch.rand(o, generator=g)
    return sd


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("mat", nargs="?", default=os.path.join(here, "..", "testdata", "vgg19-tiny", "vgg19-tiny-new.mat"))
    p.add_argument("--full", metavar="DIR", help="write full-size random .pth files into DIR instead")
    a = p.parse_args()
    if a.full:
        sd = full_state_dict()
        write_pth(sd, os.path.join(a.full, "vgg19-full"))
        return
    order, layers = read_mat(a.mat)
    base = os.path.splitext(a.mat)[0]
    if base.endswith("-new"):
        base = base[:-4]
    sd = state_dict(layers)
    write_pth(sd, base)
    write_safetensors(sd, base + ".safetensors")
    write_caffe(order, layers, base + "-v1.caffemodel", v2=False)
    write_caffe(order, layers, base + "-v2.caffemodel", v2=True)


if __name__ == "__main__":
    main()
