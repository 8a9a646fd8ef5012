// /stocktakes: the list and "start a stocktake", with the products feature's
// picker for choosing products.

import { ProductSelect } from '@/features/products/components/ProductSelect';
import { StocktakeList } from '@/features/stocktake/components/StocktakeList';

export default function StocktakesPage() {
  return <StocktakeList productsPicker={<ProductSelect multiple />} />;
}
