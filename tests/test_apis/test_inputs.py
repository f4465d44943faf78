"""mmchest.apis.inputs: folder expansion and unique output names."""
import cv2

from mmchest.apis.inputs import collect_inputs, resolve_inputs, unique_names
from mmchest.synthetic import chest_radiograph, write_dicom

SIZE = 64


def test_collect_inputs_and_unique_names(tmp_path):
    inputs = tmp_path
    for i in range(2):
        write_dicom(inputs / 'dcm' / f'sub{i}' / f'img{i}.dcm',
                    chest_radiograph(SIZE, [7, i]).image)
    cv2.imwrite(str(inputs / 'dcm' / 'plain.png'), chest_radiograph(SIZE, [7, 9]).image)
    (inputs / 'dcm' / 'notes.txt').write_text('not an input')
    files, missing = collect_inputs([str(inputs / 'dcm'), str(inputs / 'nope'),
                                     str(inputs / 'dcm' / 'plain.png')])
    # folder contents sorted, the repeated file listed once, the missing input returned
    assert [f.split('/dcm/')[1] for f in files] == ['plain.png', 'sub0/img0.dcm',
                                                    'sub1/img1.dcm']
    assert missing == [str(inputs / 'nope')]
    assert unique_names(['a/x.dcm', 'b/x.png', 'c/x_2.dcm', 'y.dcm', 'd/x.dcm']) == \
        ['x', 'x_2', 'x_2_2', 'y', 'x_3']
    assert unique_names(['a/x.dcm', 'b/y.dcm'], stems=['u', 'u']) == ['u', 'u_2']
    paths, names, errors = resolve_inputs([str(inputs / 'dcm'), str(inputs / 'nope')])
    assert names == ['plain', 'img0', 'img1'] and len(paths) == 3
    assert errors == [(str(inputs / 'nope'), 'FileNotFoundError: input does not exist')]
