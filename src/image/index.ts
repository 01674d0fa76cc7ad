import type { Deps } from '../deps';
import { unary } from '../grpc/handler';
import type { HandlerMap } from '../server';
import { listImages } from './list-images';
import { imageStatus } from './image-status';
import { pullImage } from './pull-image';
import { removeImage } from './remove-image';
import { imageFsInfo } from './image-fs-info';
import { streamImages } from './stream-images';

export function imageHandlers(deps: Deps): HandlerMap {
  return {
    ListImages: unary('ListImages', listImages(deps)),
    ImageStatus: unary('ImageStatus', imageStatus(deps)),
    PullImage: unary('PullImage', pullImage(deps)),
    RemoveImage: unary('RemoveImage', removeImage(deps)),
    ImageFsInfo: unary('ImageFsInfo', imageFsInfo(deps)),
    StreamImages: streamImages(deps),
  } as HandlerMap;
}
