import torch

from advtrace.models import ConvNet, PreActResNet18, build_model


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_preact_resnet18_paper_size():
    # The CIFAR-10 pre-activation ResNet-18 (64-128-256-512) has ~11.17 M parameters.
    m = PreActResNet18(10, 3, 64)
    assert 11.1e6 < n_params(m) < 11.3e6
    assert [m.layer1[0].conv1.out_channels, m.layer2[0].conv1.out_channels,
            m.layer3[0].conv1.out_channels, m.layer4[0].conv1.out_channels] == [64, 128, 256, 512]
    assert m(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_preact_width_and_channels_configurable():
    m = PreActResNet18(10, 1, 16)
    assert m(torch.rand(3, 1, 8, 8)).shape == (3, 10)
    assert m.layer4[1].conv2.out_channels == 128


def test_convnet_matches_appendix_i():
    m = ConvNet(43, 3, 32, 32)
    convs = [l for l in m.modules() if isinstance(l, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 32, 64, 64, 128, 128]
    lins = [l for l in m.modules() if isinstance(l, torch.nn.Linear)]
    assert [(l.in_features, l.out_features) for l in lins] == [(128 * 4 * 4, 512), (512, 43)]
    drops = [l.p for l in m.modules() if isinstance(l, torch.nn.Dropout)]
    assert drops == [0.2, 0.2, 0.2, 0.5]
    assert m(torch.rand(2, 3, 32, 32)).shape == (2, 43)


def test_normalisation_inside_model():
    mean, std = [0.3], [0.2]
    m = build_model({"name": "preact_resnet18", "width": 4}, 10, 1, 8, mean, std)
    x = torch.rand(2, 1, 8, 8)
    assert torch.allclose(m.normalize(x), (x - 0.3) / 0.2)
    assert "normalize.mean" in m.state_dict()
