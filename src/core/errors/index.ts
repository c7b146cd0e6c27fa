export {
  ERROR_CATALOGUE,
  type ErrorCode,
  type FieldError,
  invalid,
  KeywardError,
  notFound,
} from './catalogue.js';
