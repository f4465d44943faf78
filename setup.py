"""Install mmchest: ``pip install -e .`` (``make install`` sets up the whole stack)."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name: str) -> list:
    """Return the requirement lines of ``requirements/<name>``, without comments."""
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [line.split('#')[0].strip() for line in lines if line.split('#')[0].strip()]


version: dict = {}
exec((HERE / 'mmchest' / 'version.py').read_text(), version)

setup(
    name='mmchest',
    version=version['__version__'],
    description='Chest X-ray segmentation and detection for OpenMMLab 2.x '
    '(SIIM-ACR, RSNA pneumonia, multi-expert pneumonia)',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmchest', 'mmchest.*']),
    python_requires='>=3.9',
    install_requires=read_requirements('runtime.txt'),
    extras_require={
        'tests': read_requirements('tests.txt'),
        'mim': read_requirements('mminstall.txt'),
    },
    license='Apache-2.0',
    zip_safe=False,
)
